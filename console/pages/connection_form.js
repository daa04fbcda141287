// A new connection to a published app version: the form is built from the version's
// definition — one control per property (its type, choices and whether it is required or
// secret), the credentials its authentication scheme needs, and each polling trigger's
// setting. Credentials and secret properties are password fields and are never shown back.

import { call } from "../api.js";
import { announce, errorBox, field, h, heading, onSubmit, put, refill, select } from "../ui.js";
import { getVersion, listApps } from "./apps.js";
import { hookUrlList } from "./connections.js";

/** The credentials each scheme takes (`session`: the fields it declares). */
function credentialFields(auth) {
  const text = (key, label) => ({ key, label, required: true, secret: false });
  const secret = (key, label) => ({ key, label, required: true, secret: true });
  switch (auth?.type) {
    case "basic":
    case "digest":
      return [text("username", "Username"), secret("password", "Password")];
    case "api_key":
      return [secret("api_key", "API key")];
    case "oauth2_client_credentials":
      return [text("client_id", "OAuth 2 client id"), secret("client_secret", "OAuth 2 client secret")];
    case "session":
      return (auth.fields ?? []).map((f) => ({ ...f, label: f.label || f.key }));
    default:
      return [];
  }
}

/** A control for one field of the definition; `read()` is its value, undefined when empty. */
function control(group, f) {
  const id = `${group}-${f.key}`;
  const type = f.type ?? "string";
  const required = Boolean(f.required) && type !== "boolean";
  let el;
  if (f.choices?.length) {
    el = select({ id, required }, [["", "—"], ...f.choices.map((c) => [String(c), String(c)])], "");
  } else if (type === "boolean") {
    el = h("input", { id, type: "checkbox" });
  } else if (type === "number" || type === "integer") {
    el = h("input", { id, type: "number", step: type === "integer" ? "1" : "any", required });
  } else {
    el = h("input", { id, type: f.secret ? "password" : "text", required, autocomplete: f.secret ? "new-password" : "off", spellcheck: "false" });
  }
  const read = () => {
    if (type === "boolean") return el.checked;
    if (el.value === "") return undefined;
    return type === "number" || type === "integer" ? Number(el.value) : el.value;
  };
  const hint = [f.help, f.secret && "Write-only: kept in the secret store, never shown again."].filter(Boolean).join(" ");
  return { key: f.key, el, read, field: field(`${f.label || f.key}${required ? " (required)" : ""}`, el, hint || null) };
}

/** The polling triggers' controls: whether each polls, and how often. */
function pollingControls(triggers) {
  return Object.entries(triggers ?? {})
    .filter(([, t]) => t.kind === "polling")
    .map(([key, t]) => {
      const enabled = h("input", { id: `poll-${key}`, type: "checkbox", checked: true });
      const interval = h("input", { id: `poll-${key}-interval`, type: "number", step: "1", min: String(t.min_interval_seconds ?? 1), placeholder: String(t.default_interval_seconds ?? "") });
      return {
        key,
        fields: [
          field(`Poll “${t.label || key}”`, enabled),
          field(`Seconds between polls of “${t.label || key}”`, interval, `At least ${t.min_interval_seconds ?? 1}; empty: ${t.default_interval_seconds ?? "the trigger's default"}.`),
        ],
        read: () => (enabled.checked
          ? { enabled: true, ...(interval.value ? { interval_seconds: Number(interval.value) } : {}) }
          : { enabled: false }),
      };
    });
}

function values(controls) {
  const out = {};
  for (const c of controls) {
    const value = c.read();
    if (value !== undefined) out[c.key] = value;
  }
  return out;
}

/** Marks the controls the API named in its field errors (`properties.location_id`). */
function markInvalid(groups, err) {
  for (const c of Object.values(groups).flat()) c.el?.removeAttribute("aria-invalid");
  for (const { field: name } of err.fieldErrors ?? []) {
    const [group, key] = String(name).split(".");
    groups[group]?.find((c) => c.key === key)?.el?.setAttribute("aria-invalid", "true");
  }
}

/** The form for `version` (a version's view); `onCreated(connection)` after the API made it. */
function form(version, onCreated) {
  const d = version.definition;
  const name = h("input", { id: "connection-name", value: d.name ?? "" });
  const state = h("input", { id: "connection-state", required: true, spellcheck: "false", placeholder: "AP" });
  const groups = {
    properties: (d.properties ?? []).map((f) => control("property", f)),
    credentials: credentialFields(d.auth).map((f) => control("credential", f)),
    polling: pollingControls(d.triggers),
  };
  const errors = h("div", { "aria-live": "assertive" });
  const el = h(
    "form",
    { class: "stacked", "aria-labelledby": "connection-form" },
    h("h2", { id: "connection-form" }, `Connection to ${d.name} ${version.version}`),
    field("Name", name),
    field("State", state, "The state its triggers' events are published for: one of your states."),
    groups.properties.length > 0 && h("fieldset", {}, h("legend", {}, "Properties"), groups.properties.map((c) => c.field)),
    groups.credentials.length > 0 &&
      h("fieldset", {}, h("legend", {}, `Credentials (${d.auth.type})`), groups.credentials.map((c) => c.field)),
    groups.polling.length > 0 && h("fieldset", {}, h("legend", {}, "Polling"), groups.polling.map((p) => p.fields)),
    errors,
    h("button", { type: "submit", class: "primary" }, "Create connection"),
  );
  onSubmit(el, errors, async () => {
    const body = {
      app: version.key,
      version: version.version,
      name: name.value.trim(),
      state: state.value.trim(),
      properties: values(groups.properties),
      credentials: values(groups.credentials),
    };
    if (groups.polling.length > 0) body.polling = Object.fromEntries(groups.polling.map((p) => [p.key, p.read()]));
    try {
      const created = await call("POST", "v1/connections", { body });
      await onCreated(created);
    } catch (err) {
      markInvalid(groups, err);
      throw err;
    }
  });
  return el;
}

/** `#/connections/new?app=KEY&version=VERSION` */
export async function renderCreate(view, { query }) {
  put(view, heading("New connection"));
  const { data: apps } = await listApps();
  const published = apps.filter((a) => a.versions.some((v) => v.status === "published"));
  if (published.length === 0) {
    put(view, h("p", {}, "No app has a published version to connect to."), h("p", {}, h("a", { href: "#/apps" }, "Apps")));
    return;
  }
  const chosenApp = published.some((a) => a.key === query.get("app")) ? query.get("app") : published[0].key;
  const appSelect = select({ id: "connection-app" }, published.map((a) => [a.key, `${a.name} (${a.key})`]), chosenApp);
  const versionSelect = select({ id: "connection-version" }, [], "");
  const body = h("div");
  const result = h("div");
  const fillVersions = (wanted) => {
    const app = published.find((a) => a.key === appSelect.value);
    const versions = app.versions.filter((v) => v.status === "published").map((v) => v.version);
    const chosen = versions.includes(wanted) ? wanted : app.latest_version ?? versions.at(-1);
    refill(versionSelect, versions.map((v) => h("option", { value: v, selected: v === chosen }, v)));
  };
  const showForm = async () => {
    const version = await getVersion(appSelect.value, versionSelect.value);
    refill(body, form(version, async (created) => {
      refill(body);
      const hooks = hookUrlList(created);
      refill(result,
        h("div", { class: "notice", tabindex: "-1" },
          h("p", {}, "Connection ", h("code", {}, created.id), " created."),
          hooks && h("p", {}, "Give the tool these hook URLs (each carries the connection's secret token):"),
          hooks),
        h("p", {}, h("a", { href: "#/connections" }, "Back to the connections")),
      );
      announce(`Connection ${created.id} created`);
      result.querySelector(".notice")?.focus();
    }));
  };
  // A change of app or version rebuilds the form in place (the focus stays on the select) and
  // keeps the address in step without a navigation.
  const change = async (wanted) => {
    fillVersions(wanted);
    history.replaceState(null, "", `#/connections/new?app=${encodeURIComponent(appSelect.value)}&version=${encodeURIComponent(versionSelect.value)}`);
    refill(result);
    try {
      await showForm();
    } catch (err) {
      refill(body, errorBox(err));
    }
  };
  appSelect.addEventListener("change", () => change(undefined));
  versionSelect.addEventListener("change", () => change(versionSelect.value));
  fillVersions(query.get("version"));
  put(
    view,
    h("div", { class: "stacked" }, field("App", appSelect), field("Version", versionSelect, "Published versions only: a deprecated one takes no new connections.")),
    body,
    result,
  );
  await showForm();
}
