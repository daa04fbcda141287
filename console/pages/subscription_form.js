// Creating and editing a subscription: one form for both. `mode` is chosen at creation
// (push: Hookline POSTs to a URL; pull: the client fetches its messages; action: a workflow
// runs actions of the client's connections) and fixed after; the fields that do not mean
// anything for the mode are hidden and left out.

import { call, hasScope } from "../api.js";
import { announce, errorBox, field, h, heading, jsonField, onSubmit, secretBox, select, splitList, put, refill } from "../ui.js";
import { stepsEditor } from "./workflow_steps.js";

/** Whether the session can make workflows: it reads its connections and their apps. */
function canRunActions() {
  return (hasScope("connections:read") || hasScope("connections:write")) && (hasScope("apps:read") || hasScope("apps:write"));
}

const FORMATS = [
  ["hookline", "Hookline envelope (JSON)"],
  ["cloudevents", "CloudEvents 1.0 (structured JSON)"],
  ["template", "Template (minijinja, renders JSON)"],
];

function jsonText(value) {
  return value === null || value === undefined || (typeof value === "object" && Object.keys(value).length === 0)
    ? ""
    : JSON.stringify(value, null, 2);
}

/** The form's controls, filled from `s` (a subscription, or defaults). */
function controls(s, editing) {
  const c = {
    mode: select({ name: "mode", disabled: editing }, [
      ["push", "Push: Hookline POSTs to a URL"],
      ["pull", "Pull: the client fetches its messages"],
      (canRunActions() || s.mode === "action") && ["action", "Workflow: runs actions of your connections"],
    ].filter(Boolean), s.mode ?? "push"),
    url: h("input", { name: "url", type: "url", value: s.url ?? "", placeholder: "https://portal.example.org/hooks", spellcheck: "false" }),
    description: h("input", { name: "description", value: s.description ?? "" }),
    event_types: h("input", { name: "event_types", value: (s.event_types ?? []).join(", "), required: true, spellcheck: "false" }),
    states: h("input", { name: "states", value: (s.states ?? []).join(", "), spellcheck: "false" }),
    format: select({ name: "format" }, FORMATS, s.format ?? "hookline"),
    template: h("textarea", { name: "template", rows: "6", spellcheck: "false" }, s.template ?? ""),
    max_attempts: h("input", { name: "max_attempts", type: "number", min: "1", max: "50", value: s.max_attempts ?? "" }),
    timeout_ms: h("input", { name: "timeout_ms", type: "number", min: "1", value: s.timeout_ms ?? "" }),
    filter: h("textarea", { name: "filter", rows: "4", spellcheck: "false" }, jsonText(s.filter)),
    headers: h("textarea", { name: "headers", rows: "3", spellcheck: "false" }, jsonText(s.headers)),
    include_own_events: h("input", { name: "include_own_events", type: "checkbox", checked: s.include_own_events }),
    enabled: h("input", { name: "enabled", type: "checkbox", checked: s.enabled ?? true }),
  };
  return c;
}

/** The request body the form describes. */
function bodyOf(c, editing, steps) {
  const pull = c.mode.value === "pull";
  const action = c.mode.value === "action";
  const body = {
    description: c.description.value,
    event_types: splitList(c.event_types.value),
    format: c.format.value,
    include_own_events: c.include_own_events.checked,
    enabled: c.enabled.checked,
    filter: jsonField("filter", c.filter.value),
  };
  const headers = jsonField("headers", c.headers.value);
  body.headers = headers ?? {};
  const states = splitList(c.states.value);
  if (states.length > 0) body.states = states;
  if (c.format.value === "template") body.template = c.template.value;
  if (c.max_attempts.value) body.max_attempts = Number(c.max_attempts.value);
  // Push is the default: named only for another mode, the body suits a stack without them.
  if (!editing && c.mode.value !== "push") body.mode = c.mode.value;
  if (action) {
    // A workflow's steps replace the destination, the payload format and the headers.
    for (const name of ["format", "template", "headers"]) delete body[name];
    body.actions = steps.read();
  } else if (!pull) {
    body.url = c.url.value.trim();
    if (c.timeout_ms.value) body.timeout_ms = Number(c.timeout_ms.value);
  }
  if (!editing && body.filter === null) delete body.filter;
  // An edit names only the JSON fields that were changed: a header stored before credentials
  // were refused reads back as "[redacted]", and writing that back would be refused.
  if (editing) {
    for (const name of ["filter", "headers"]) {
      if (name in body && c[name].value === c[name].defaultValue) delete body[name];
    }
  }
  return body;
}

/** Marks the controls the API named in its field errors. */
function markInvalid(c, err) {
  for (const control of Object.values(c)) control.removeAttribute("aria-invalid");
  for (const { field: name } of err.fieldErrors ?? []) {
    const control = c[String(name).split(/[.[]/)[0]];
    control?.setAttribute("aria-invalid", "true");
  }
}

function form(s, editing, onSave) {
  const c = controls(s, editing);
  const steps = stepsEditor();
  const stepsBox = h("div", {}, steps.el);
  const pushOnly = [
    field("Destination URL", c.url, "Absolute http(s) URL the events are POSTed to."),
    field("Timeout per attempt (ms)", c.timeout_ms, "Empty: the stack's default."),
  ];
  const formatField = field("Payload format", c.format);
  const templateField = field("Template", c.template, "For the template format only.");
  const headersField = field("Extra headers (JSON object)", c.headers, "No credentials here.");
  // Own events are delivered to a workflow unless it says otherwise (its trigger events are
  // its own client's); the box follows the mode until it is changed by hand.
  let ownTouched = editing;
  c.include_own_events.addEventListener("change", () => { ownTouched = true; });
  let stepsLoaded = false;
  const sync = () => {
    const pull = c.mode.value === "pull";
    const action = c.mode.value === "action";
    for (const f of pushOnly) f.hidden = pull || action;
    c.url.required = !pull && !action;
    formatField.hidden = action;
    headersField.hidden = action;
    templateField.hidden = action || c.format.value !== "template";
    stepsBox.hidden = !action;
    if (!ownTouched) c.include_own_events.checked = action;
    if (action && !stepsLoaded) {
      stepsLoaded = true;
      steps.load(s.actions).catch((err) => refill(stepsBox, errorBox(err)));
    }
  };
  c.mode.addEventListener("change", sync);
  c.format.addEventListener("change", sync);
  const errors = h("div", { "aria-live": "assertive" });
  const submit = h("button", { type: "submit", class: "primary" }, editing ? "Save changes" : "Create subscription");
  const el = h(
    "form",
    { class: "stacked" },
    field("Mode", c.mode, editing ? "The mode cannot change after creation." : null),
    pushOnly,
    stepsBox,
    field("Description", c.description),
    field("Event types", c.event_types, "Names or prefixes ending in *, separated by commas; * is every type."),
    field("States", c.states, "State codes separated by commas; empty: all your allowed states."),
    formatField,
    templateField,
    field("Maximum attempts", c.max_attempts, "Empty: the stack's default."),
    h(
      "details",
      {},
      h("summary", {}, "Filter and extra headers"),
      field("Filter (JSON pattern)", c.filter, 'E.g. {"data": {"status": ["dispatched"]}}; empty: none.'),
      headersField,
    ),
    field("Deliver events this client published itself", c.include_own_events),
    field("Enabled", c.enabled),
    errors,
    submit,
  );
  sync();
  onSubmit(el, errors, async () => {
    try {
      await onSave(bodyOf(c, editing, steps));
    } catch (err) {
      markInvalid(c, err);
      steps.markInvalid(err);
      throw err;
    }
  });
  return el;
}

/** `#/subscriptions/new` */
export async function renderCreate(view) {
  put(view, heading("New subscription"));
  const result = h("div");
  const el = form({}, false, async (body) => {
    const created = await call("POST", "v1/subscriptions", { body });
    el.remove();
    refill(result,
      h("p", { class: "notice" }, "Subscription ", h("code", {}, created.id), " created."),
      // A workflow signs nothing: its steps authenticate with their connections.
      created.secret && created.mode !== "action" && secretBox("Signing secret", created.secret),
      h("p", {}, h("a", { href: "#/subscriptions" }, "Back to the subscriptions")),
    );
    announce(created.mode === "action" ? "Workflow created" : "Subscription created: its signing secret is shown once");
    result.querySelector("button, a")?.focus();
  });
  put(view, el, result);
}

/** `#/subscriptions/{id}/edit` */
export async function renderEdit(view, { segments, navigate }) {
  const id = segments[1];
  const s = await call("GET", `v1/subscriptions/${encodeURIComponent(id)}`);
  put(view, heading(`Edit ${s.description || s.id}`), h("p", {}, h("code", {}, s.id)));
  put(
    view,
    form(s, true, async (body) => {
      await call("PATCH", `v1/subscriptions/${encodeURIComponent(id)}`, { body });
      announce("Subscription saved");
      navigate("#/subscriptions");
    }),
  );
}
