// Subscriptions: the list (own; an admin's: every client's), and per subscription the
// actions a portal developer needs — edit, enable or disable, rotate the signing secret (the
// new one shown once), send a test event, and its deliveries.

import { call, hasScope } from "../api.js";
import { actionButton, announce, h, heading, noticeArea, secretBox, select, table, put, refill } from "../ui.js";

/** The subscriptions of the signed-in client (an admin: all), page by page. */
export async function listSubscriptions(cursor) {
  return call("GET", "v1/subscriptions", { query: { limit: 100, cursor } });
}

function statusText(s) {
  if (s.enabled) return s.failing_since ? `enabled, failing since ${s.failing_since}` : "enabled";
  return s.disabled_reason ? `disabled (${s.disabled_reason})` : "disabled";
}

function destination(s) {
  const mode = s.mode ?? "push";
  if (mode === "pull") return h("span", {}, "fetched by the client from ", h("code", {}, `/v1/subscriptions/${s.id}/messages`));
  if (mode === "action") {
    const steps = (s.actions ?? []).map((a) => `${a.action} on ${a.connection_id}`).join(", then ");
    return h("span", {}, "workflow: ", h("code", {}, steps));
  }
  return h("code", {}, s.url);
}

function actions(s, notices, reload) {
  const label = s.description || s.id;
  const write = hasScope("subscriptions:write");
  return h(
    "div",
    { class: "actions" },
    write && h("a", { class: "button", href: `#/subscriptions/${s.id}/edit`, "aria-label": `Edit ${label}` }, "Edit"),
    write &&
      actionButton(
        s.enabled ? "Disable" : "Enable",
        async () => {
          await call("PATCH", `v1/subscriptions/${s.id}`, { body: { enabled: !s.enabled } });
          announce(`${label} ${s.enabled ? "disabled" : "enabled"}`);
          await reload(`${label} ${s.enabled ? "disabled" : "enabled"}.`);
        },
        notices,
        { "aria-label": `${s.enabled ? "Disable" : "Enable"} ${label}` },
      ),
    write &&
      actionButton(
        "Rotate secret",
        async () => {
          if (!window.confirm(`Rotate the signing secret of ${label}? The old one keeps signing alongside for 24 hours.`)) return;
          const { secret } = await call("POST", `v1/subscriptions/${s.id}/secret/rotate`);
          notices.show(secretBox(`New signing secret of ${label}`, secret));
          announce("Secret rotated: the new secret is shown once");
        },
        notices,
        { "aria-label": `Rotate the secret of ${label}` },
      ),
    write &&
      actionButton(
        "Send test event",
        async () => {
          const { delivery_id: id } = await call("POST", `v1/subscriptions/${s.id}/test`);
          notices.show(
            "Test event sent to ",
            label,
            ": delivery ",
            h("a", { href: `#/deliveries/${id}` }, id),
            ".",
          );
          announce("Test event sent");
        },
        notices,
        { "aria-label": `Send a test event to ${label}` },
      ),
    h("a", { class: "button", href: `#/deliveries?subscription_id=${s.id}`, "aria-label": `Deliveries of ${label}` }, "Deliveries"),
  );
}

/** `#/subscriptions` */
export async function render(view, { query, navigate }) {
  const notices = noticeArea();
  const cursor = query.get("cursor") ?? "";
  put(
    view,
    heading("Subscriptions"),
    hasScope("subscriptions:write") && h("p", {}, h("a", { class: "button primary", href: "#/subscriptions/new" }, "New subscription")),
    notices.el,
  );
  const body = h("div");
  put(view, body);
  const reload = async (message) => {
    const page = await listSubscriptions(cursor);
    const admin = hasScope("admin");
    const rows = page.data.map((s) => [
      h("span", {}, s.description || h("em", {}, "no description"), h("br"), h("code", { class: "id" }, s.id)),
      admin ? h("code", { class: "nowrap" }, s.client_id) : null,
      s.mode ?? "push",
      destination(s),
      s.event_types.join(", "),
      s.states.join(", "),
      statusText(s),
      actions(s, notices, reload),
    ].filter((c) => c !== null));
    const headers = ["Subscription", admin && "Client", "Mode", "Destination", "Event types", "States", "Status", "Actions"].filter(Boolean);
    refill(body,
      page.data.length === 0
        ? h("p", {}, "No subscriptions yet.")
        : table("Subscriptions", headers, rows),
      page.next_cursor &&
        h("p", {}, h("button", { type: "button", onClick: () => navigate(`#/subscriptions?cursor=${encodeURIComponent(page.next_cursor)}`) }, "Next page")),
    );
    if (message) notices.show(message);
  };
  await reload();
}

/** A `<select>` of the caller's subscriptions (first 100), with an "any" choice unless `required`. */
export async function subscriptionSelect(props, selected, { required = false } = {}) {
  const { data } = await listSubscriptions();
  const options = data.map((s) => [s.id, s.description ? `${s.description} (${s.id})` : s.id]);
  if (!required) options.unshift(["", "Any subscription"]);
  return select({ ...props, required }, options, selected ?? "");
}
