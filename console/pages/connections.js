// Connections to integration apps: the list (own; an admin's: every client's) with the
// version each uses, the credentials that are set (by key only: they are write-only), its
// triggers, and per connection the actions a developer needs — test it against the tool,
// disable or enable it, see its polls, upgrade it to the app's latest version, delete it.

import { call, hasScope } from "../api.js";
import { actionButton, announce, h, heading, noticeArea, put, refill, table, time } from "../ui.js";
import { listApps } from "./apps.js";

function testResult(c, r) {
  return h(
    "div",
    {},
    h("p", {}, `Test of ${c.name || c.id}: `,
      h("strong", { class: `status status-${r.ok ? "succeeded" : "failed"}` }, r.ok ? "passed" : "failed"),
      r.status === null || r.status === undefined ? "" : ` (status ${r.status}, ${r.duration_ms} ms)`,
      r.error ? `: ${r.error}` : ""),
    r.request_excerpt && h("pre", { class: "excerpt", "aria-label": "Request sent" }, r.request_excerpt),
    r.response_excerpt && h("pre", { class: "excerpt", "aria-label": "Answer" }, r.response_excerpt),
  );
}

function pollTable(c, polls) {
  if (polls.length === 0) return h("p", {}, `${c.name || c.id} runs no polls.`);
  return table(
    `Polls of ${c.name || c.id}`,
    ["Trigger", "Every", "Next run", "Last run", "Published", "Last error"],
    polls.map((p) => [
      h("code", {}, p.trigger),
      `${p.interval_seconds} s`,
      time(p.next_run_at),
      time(p.last_run_at),
      String(p.published),
      p.last_error ?? "",
    ]),
  );
}

/** A connection's hook URLs, one per hook trigger (null if it has none). */
export function hookUrlList(c) {
  const hooks = Object.entries(c.hook_urls ?? {});
  if (hooks.length === 0) return null;
  return h("ul", { class: "plain" }, hooks.map(([key, url]) => h("li", {}, h("code", {}, key), ": ", h("code", {}, url))));
}

function triggers(c) {
  const polling = Object.entries(c.polling ?? {}).map(([key, p]) =>
    h("li", {}, h("code", {}, key), p.enabled === false ? ": not polled" : `: polled every ${p.interval_seconds ?? "default"} s`));
  const hooks = Object.entries(c.hook_urls ?? {});
  return h(
    "div",
    {},
    polling.length > 0 && h("ul", { class: "plain" }, polling),
    // A hook URL carries the connection's secret token: shown on request, for the tool only.
    hooks.length > 0 &&
      h("details", {}, h("summary", {}, `Hook URLs (${hooks.length})`),
        h("p", { class: "hint" }, "Each carries this connection's secret token: give it to the tool only."),
        hookUrlList(c)),
    polling.length === 0 && hooks.length === 0 && "—",
  );
}

/** Semantic version precedence (semver.org §11): negative, zero or positive as `a` < = > `b`. */
export function compareVersions(a, b) {
  const parse = (v) => {
    const [core, pre] = v.split("+")[0].split(/-(.*)/s);
    return { core: core.split(".").map(Number), pre: pre === undefined ? [] : pre.split(".") };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) if (x.core[i] !== y.core[i]) return x.core[i] - y.core[i];
  // A release ranks above its pre-releases.
  if (x.pre.length === 0 || y.pre.length === 0) return y.pre.length - x.pre.length;
  for (let i = 0; i < Math.min(x.pre.length, y.pre.length); i++) {
    const [p, q] = [x.pre[i], y.pre[i]];
    if (p === q) continue;
    const [pn, qn] = [/^\d+$/.test(p), /^\d+$/.test(q)];
    if (pn && qn) return Number(p) - Number(q);
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return x.pre.length - y.pre.length;
}

function actions(c, latest, notices, reload) {
  const label = c.name || c.id;
  const write = hasScope("connections:write");
  const path = `v1/connections/${encodeURIComponent(c.id)}`;
  return h(
    "div",
    { class: "actions" },
    write &&
      actionButton(
        "Test",
        async () => {
          const result = await call("POST", `${path}/test`);
          notices.show(testResult(c, result));
          announce(`Test of ${label} ${result.ok ? "passed" : "failed"}`);
        },
        notices,
        { "aria-label": `Test ${label}` },
      ),
    write &&
      actionButton(
        c.enabled ? "Disable" : "Enable",
        async () => {
          await call("PATCH", path, { body: { enabled: !c.enabled } });
          await reload(`${label} ${c.enabled ? "disabled" : "enabled"}.`);
          announce(`${label} ${c.enabled ? "disabled" : "enabled"}`);
        },
        notices,
        { "aria-label": `${c.enabled ? "Disable" : "Enable"} ${label}` },
      ),
    actionButton(
      "Polls",
      async () => {
        const { data } = await call("GET", `${path}/polls`);
        notices.show(pollTable(c, data));
      },
      notices,
      { "aria-label": `Polls of ${label}` },
    ),
    write && latest && compareVersions(latest, c.version) > 0 &&
      actionButton(
        `Upgrade to ${latest}`,
        async () => {
          if (!window.confirm(`Upgrade ${label} from ${c.version} to ${latest}?`)) return;
          await call("POST", `${path}/upgrade`, { body: { version: latest } });
          await reload(`${label} now uses ${c.app} ${latest}.`);
          announce(`${label} upgraded to ${latest}`);
        },
        notices,
        { "aria-label": `Upgrade ${label} to ${latest}` },
      ),
    write &&
      actionButton(
        "Delete",
        async () => {
          if (!window.confirm(`Delete ${label}? Its credentials and poll schedules go with it; workflows that use it fail.`)) return;
          await call("DELETE", path);
          await reload(`${label} deleted.`);
          announce(`${label} deleted`);
        },
        notices,
        { "aria-label": `Delete ${label}` },
      ),
  );
}

/** The latest published version of each app the caller may read (none without `apps:read`). */
async function latestVersions() {
  if (!hasScope("apps:read") && !hasScope("apps:write")) return new Map();
  const { data } = await listApps();
  return new Map(data.map((a) => [a.key, a.latest_version]));
}

/** `#/connections` */
export async function render(view, { query, navigate }) {
  const notices = noticeArea();
  const cursor = query.get("cursor") ?? "";
  const canCreate = hasScope("connections:write") && (hasScope("apps:read") || hasScope("apps:write"));
  put(
    view,
    heading("Connections"),
    canCreate && h("p", {}, h("a", { class: "button primary", href: "#/connections/new" }, "New connection")),
    notices.el,
  );
  const body = h("div");
  put(view, body);
  const reload = async (message) => {
    const [page, latest] = await Promise.all([
      call("GET", "v1/connections", { query: { limit: 100, cursor } }),
      latestVersions(),
    ]);
    const admin = hasScope("admin");
    const rows = page.data.map((c) => [
      h("span", {}, c.name || h("em", {}, "no name"), h("br"), h("code", { class: "id" }, c.id)),
      admin ? h("code", { class: "nowrap" }, c.client_id) : null,
      h("span", {}, h("code", {}, c.app), " ", c.version),
      c.state,
      c.secrets_set.length > 0 ? c.secrets_set.join(", ") : "—",
      triggers(c),
      c.enabled ? "enabled" : "disabled",
      actions(c, latest.get(c.app), notices, reload),
    ].filter((cell) => cell !== null));
    const headers = ["Connection", admin && "Client", "App version", "State", "Secrets set", "Triggers", "Status", "Actions"].filter(Boolean);
    refill(body,
      page.data.length === 0 ? h("p", {}, "No connections yet.") : table("Connections", headers, rows),
      page.next_cursor &&
        h("p", {}, h("button", { type: "button", onClick: () => navigate(`#/connections?cursor=${encodeURIComponent(page.next_cursor)}`) }, "Next page")),
    );
    if (message) notices.show(message);
  };
  await reload();
}
