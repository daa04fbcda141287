// The delivery log: deliveries filtered by subscription, event type, status and creation
// time, newest first, each with its attempts one click away and a retry for those that
// ended; and the admin's dead letters, the same log fixed to `status=failed` for every client.

import { call, hasScope } from "../api.js";
import {
  actionButton, announce, field, h, heading, isoToLocalInput, noticeArea, select, table, time,
  timeInput, toRfc3339, put,
} from "../ui.js";
import { eventTypeInput } from "./catalog.js";
import { subscriptionSelect } from "./subscriptions.js";

const STATUSES = [
  ["", "Any status"],
  ["pending", "pending"],
  ["retrying", "retrying"],
  ["succeeded", "succeeded"],
  ["failed", "failed (dead letter)"],
];

/**
 * The filters of the log and of the chart: subscription, event type, status (`status`:
 * "choice" for a select, or the one fixed status), and a creation window. Submitting goes
 * to `base` with the filters chosen as its query, so a filtered view can be bookmarked.
 */
export async function filterForm(query, navigate, { base, prefix, status, hints = {}, submitLabel = "Apply filters" }) {
  const subscription = await subscriptionSelect({ id: `${prefix}-subscription` }, query.get("subscription_id"));
  const eventType = await eventTypeInput({ id: `${prefix}-event-type` }, query.get("event_type"));
  const statusSelect = select({ id: `${prefix}-status` }, STATUSES, query.get("status") ?? "");
  const since = timeInput({ id: `${prefix}-since`, value: isoToLocalInput(query.get("since")) });
  const until = timeInput({ id: `${prefix}-until`, value: isoToLocalInput(query.get("until")) });
  const form = h(
    "form",
    { class: "filters", "aria-label": "Filters" },
    field("Subscription", subscription),
    field("Event type", eventType.input),
    eventType.list,
    status === "choice" && field("Status", statusSelect),
    field("Created since", since, hints.since),
    field("Created until", until, hints.until),
    h("div", { class: "field" }, h("button", { type: "submit" }, submitLabel)),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = {
      subscription_id: subscription.value,
      event_type: eventType.input.value.trim(),
      status: status === "choice" ? statusSelect.value : undefined,
      since: toRfc3339(since.value),
      until: toRfc3339(until.value),
    };
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(chosen)) if (value) params.set(key, value);
    navigate(params.toString() ? `${base}?${params}` : base);
  });
  return form;
}

/** Retries one delivery (it must have ended: succeeded or failed). */
export async function retry(id) {
  await call("POST", `v1/deliveries/${encodeURIComponent(id)}/retry`);
  announce(`Delivery ${id} queued for a new attempt`);
}

function rows(deliveries, notices, reload) {
  return deliveries.map((d) => [
    h("a", { href: `#/deliveries/${d.id}` }, h("code", {}, d.id)),
    d.event_type ?? "—",
    h("code", {}, d.subscription_id),
    h("span", { class: `status status-${d.status}` }, d.status),
    String(d.attempts.length + (d.attempts_omitted ?? 0)),
    time(d.created_at),
    time(d.next_attempt_at),
    hasScope("subscriptions:write") && (d.status === "failed" || d.status === "succeeded")
      ? actionButton(
          "Retry",
          async () => {
            await retry(d.id);
            await reload(`Delivery ${d.id} queued for a new attempt.`);
          },
          notices,
          { "aria-label": `Retry ${d.id}` },
        )
      : "",
  ]);
}

async function deliveryLog(view, { query, navigate }, { title, base, fixedStatus, intro }) {
  const notices = noticeArea();
  const params = {
    subscription_id: query.get("subscription_id"),
    event_type: query.get("event_type"),
    status: fixedStatus ?? query.get("status"),
    since: query.get("since"),
    until: query.get("until"),
  };
  const form = await filterForm(query, navigate, { base, prefix: "filter", status: fixedStatus ?? "choice" });
  const body = h("div");
  const more = h("p");
  // `reload` is defined below; the button calls it only once clicked.
  const refresh = h("p", {}, actionButton("Refresh", () => reload("Refreshed."), notices));
  put(view, heading(title), intro && h("p", {}, intro), form, refresh, notices.el, body, more);
  const headers = ["Delivery", "Event type", "Subscription", "Status", "Attempts", "Created", "Next attempt", "Actions"];
  const shown = [];
  const load = async (cursor) => {
    const page = await call("GET", "v1/deliveries", { query: { ...params, limit: 50, cursor } });
    shown.push(...page.data);
    body.replaceChildren(
      shown.length === 0
        ? h("p", {}, "No deliveries match.")
        : table(`${title}: ${shown.length} shown`, headers, rows(shown, notices, reload)),
    );
    more.replaceChildren(
      page.next_cursor ? actionButton("Load more", () => load(page.next_cursor), notices) : "",
    );
  };
  const reload = async (message) => {
    shown.length = 0;
    await load();
    if (message) notices.show(message);
  };
  await load();
}

/** `#/deliveries` */
export async function render(view, ctx) {
  await deliveryLog(view, ctx, { title: "Delivery log", base: "#/deliveries" });
}

/** `#/dead-letters` (admin): every client's failed deliveries. */
export async function renderDeadLetters(view, ctx) {
  await deliveryLog(view, ctx, {
    title: "Dead letters",
    base: "#/dead-letters",
    fixedStatus: "failed",
    intro: "Deliveries that gave up after their last attempt, of every client. Retry one once its receiver is fixed, or replay a subscription's window.",
  });
}
