// Clients (admin): the list, a new client with its scopes and states (its secret shown
// once), a new secret for a client (the old one stops working at once), and disabling or
// enabling one (a disabled client gets no tokens and its tokens stop working).

import { call, currentSession } from "../api.js";
import {
  actionButton, announce, field, h, heading, noticeArea, secretBox, splitList, table, time, put, refill, onSubmit,
} from "../ui.js";

const SCOPES = [
  ["events:write", "publish events"],
  ["events:read", "read events of its states"],
  ["subscriptions:read", "read its subscriptions and deliveries"],
  ["subscriptions:write", "manage its subscriptions; retry and replay"],
  ["subscriptions:secrets", "read signing secrets only"],
  ["manufacturers:read", "read the manufacturer registry"],
  ["manufacturers:write", "register manufacturers of its states"],
  ["sync:read", "read its external sources and sync requests"],
  ["sync:write", "manage external sources, request and end syncs"],
  ["apps:read", "read the integration apps and their versions"],
  ["apps:write", "publish and deprecate integration app versions"],
  ["connections:read", "read its connections to apps"],
  ["connections:write", "manage and test its connections to apps"],
  ["admin", "everything, every client"],
];

function createForm(reload) {
  const name = h("input", { id: "client-name", required: true });
  const states = h("input", { id: "client-states", required: true, spellcheck: "false", value: "*" });
  const boxes = SCOPES.map(([scope]) => h("input", { type: "checkbox", id: `scope-${scope.replace(":", "-")}`, value: scope }));
  const errors = h("div", { "aria-live": "assertive" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create client");
  const result = h("div", { class: "notices" });
  const form = h(
    "form",
    { class: "stacked", "aria-labelledby": "new-client" },
    h("h2", { id: "new-client" }, "New client"),
    field("Name", name),
    h("fieldset", {}, h("legend", {}, "Scopes"), SCOPES.map(([scope, what], i) => field(`${scope} — ${what}`, boxes[i]))),
    field("States", states, "State codes separated by commas (AP, TG); * for all."),
    errors,
    submit,
    result,
  );
  onSubmit(form, errors, async () => {
    result.replaceChildren();
    const body = {
      name: name.value.trim(),
      scopes: boxes.filter((b) => b.checked).map((b) => b.value),
      states: splitList(states.value),
    };
    const created = await call("POST", "v1/clients", { body });
    form.reset();
    await reload();
    result.replaceChildren(
      h("div", { class: "notice" },
        h("p", {}, "Client ", h("code", {}, created.id), ` (${created.name}) created.`),
        secretBox(`Client secret of ${created.id}`, created.client_secret)),
    );
    announce("Client created: its secret is shown once");
  });
  return form;
}

function actions(c, notices, reload) {
  if (c.id === currentSession()?.clientId) return h("em", {}, "you");
  return h(
    "div",
    { class: "actions" },
    actionButton(
      "Rotate secret",
      async () => {
        if (!window.confirm(`Give ${c.name} a new secret? Its current secret stops working at once.`)) return;
        const { client_secret: secret } = await call("POST", `v1/clients/${c.id}/secret`);
        notices.show(secretBox(`New client secret of ${c.id}`, secret));
        announce("Secret rotated: the new secret is shown once");
      },
      notices,
      { "aria-label": `Rotate the secret of ${c.name}` },
    ),
    actionButton(
      c.disabled ? "Enable" : "Disable",
      async () => {
        await call("PATCH", `v1/clients/${c.id}`, { body: { disabled: !c.disabled } });
        await reload();
        notices.show(`${c.name} ${c.disabled ? "enabled" : "disabled"}.`);
      },
      notices,
      { "aria-label": `${c.disabled ? "Enable" : "Disable"} ${c.name}` },
    ),
  );
}

/** `#/clients` */
export async function render(view, { query, navigate }) {
  const notices = noticeArea();
  const body = h("div");
  const cursor = query.get("cursor") ?? "";
  const reload = async () => {
    const page = await call("GET", "v1/clients", { query: { limit: 100, cursor } });
    const rows = page.data.map((c) => [
      h("span", {}, c.name, h("br"), h("code", { class: "id" }, c.id)),
      c.scopes.join(", "),
      c.states.join(", "),
      c.disabled ? "disabled" : "active",
      time(c.created_at),
      actions(c, notices, reload),
    ]);
    refill(body,
      table("Clients", ["Client", "Scopes", "States", "Status", "Created", "Actions"], rows),
      page.next_cursor &&
        h("p", {}, h("button", { type: "button", onClick: () => navigate(`#/clients?cursor=${encodeURIComponent(page.next_cursor)}`) }, "Next page")),
    );
  };
  put(view, heading("Clients"), notices.el, body, createForm(reload));
  await reload();
}
