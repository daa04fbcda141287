// Replay: re-delivers to one subscription the past events of a time window that it matches
// (optionally only those whose delivery failed), as `POST /v1/subscriptions/{id}/replay`.

import { call } from "../api.js";
import { announce, field, h, heading, onSubmit, timeInput, toLocalInput, toRfc3339, put } from "../ui.js";
import { subscriptionSelect } from "./subscriptions.js";

/** `#/replay` */
export async function render(view, { query }) {
  const subscription = await subscriptionSelect({ id: "replay-subscription" }, query.get("subscription_id"), { required: true });
  const since = timeInput({ id: "replay-since", required: true, value: toLocalInput(new Date(Date.now() - 24 * 3600 * 1000)) });
  const until = timeInput({ id: "replay-until" });
  const onlyFailed = h("input", { type: "checkbox", id: "replay-only-failed" });
  const result = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "primary" }, "Replay");
  const form = h(
    "form",
    { class: "stacked" },
    field("Subscription", subscription),
    field("Events accepted since", since, "Your local time; at most 30 days ago."),
    field("Until", until, "Empty: now."),
    field("Only events whose delivery failed", onlyFailed),
    submit,
  );
  onSubmit(form, result, async () => {
    const body = { since: toRfc3339(since.value), only_failed: onlyFailed.checked };
    const end = toRfc3339(until.value);
    if (end) body.until = end;
    const { count, limit_reached: limited } = await call("POST", `v1/subscriptions/${encodeURIComponent(subscription.value)}/replay`, { body });
    const message = `Replay queued ${count} deliver${count === 1 ? "y" : "ies"}.`;
    result.replaceChildren(
      h("p", { class: "notice", tabindex: "-1" }, message,
        limited ? " The client's replay limit stopped it: replay the rest with a narrower window." : "",
        " ", h("a", { href: `#/deliveries?subscription_id=${subscription.value}` }, "See the deliveries")),
    );
    announce(message);
  });
  put(
    view,
    heading("Replay"),
    h("p", {}, "Re-delivers the events accepted in a time window that the subscription matches, each as a new delivery."),
    subscription.options.length === 0 ? h("p", {}, "No subscription to replay to.") : form,
    result,
  );
}
