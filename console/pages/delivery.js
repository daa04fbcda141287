// One delivery: what it is, and every attempt with its status code, latency, error and the
// start of the receiver's answer. While the delivery is under way the page re-reads it every
// two seconds, so a new attempt appears without a reload.

import { call, hasScope } from "../api.js";
import { actionButton, h, heading, keepFocus, noticeArea, table, time, put } from "../ui.js";
import { retry } from "./deliveries.js";

const POLL_MS = 2000;
const POLL_FOR_MS = 120000;

function facts(d) {
  const row = (term, value) => [h("dt", {}, term), h("dd", {}, value)];
  return h(
    "dl",
    { class: "facts" },
    row("Status", h("span", { class: `status status-${d.status}` }, d.status)),
    row("Event", h("code", {}, d.event_id)),
    row("Event type", d.event_type ?? "—"),
    row("Subscription", h("a", { href: `#/deliveries?subscription_id=${d.subscription_id}` }, h("code", {}, d.subscription_id))),
    row("Created", time(d.created_at)),
    row("Updated", time(d.updated_at)),
    row("Next attempt", time(d.next_attempt_at)),
  );
}

function attempts(d) {
  if (d.attempts.length === 0) return h("p", {}, "No attempt yet.");
  const rows = d.attempts.map((a) => [
    String(a.attempt),
    time(a.at),
    a.status_code === null ? "—" : String(a.status_code),
    `${a.duration_ms} ms`,
    a.error ?? "",
    a.response_excerpt ? h("pre", { class: "excerpt" }, a.response_excerpt) : "",
  ]);
  return h(
    "div",
    {},
    d.attempts_omitted > 0 && h("p", {}, `${d.attempts_omitted} attempts between the first and the latest listed are no longer kept.`),
    table(`Attempts of ${d.id}`, ["Attempt", "At", "Status code", "Latency", "Error", "Response excerpt"], rows),
  );
}

/** `#/deliveries/{id}` */
export async function render(view, { segments }) {
  const id = segments[1];
  const notices = noticeArea();
  const body = h("div", { "aria-live": "polite" });
  const actions = h("p", { class: "actions" });
  put(view, heading(`Delivery ${id}`), actions, notices.el, body);
  let started = Date.now();
  let timer = null;
  const load = async () => {
    clearTimeout(timer);
    const d = await call("GET", `v1/deliveries/${encodeURIComponent(id)}`);
    body.replaceChildren(facts(d), h("h2", {}, "Attempts"), attempts(d));
    const ended = d.status === "succeeded" || d.status === "failed";
    actions.replaceChildren(
      actionButton("Refresh", () => load(), notices),
      ended && hasScope("subscriptions:write")
        ? actionButton(
            "Retry",
            async () => {
              await retry(id);
              started = Date.now();
              notices.show(`Delivery ${id} queued for a new attempt.`);
              await load();
            },
            notices,
            { "aria-label": `Retry ${id}` },
          )
        : "",
    );
    keepFocus(actions.querySelector("button"));
    if (!ended && view.isConnected && Date.now() - started < POLL_FOR_MS) {
      timer = setTimeout(() => view.isConnected && load().catch((err) => notices.error(err)), POLL_MS);
    }
  };
  await load();
}
