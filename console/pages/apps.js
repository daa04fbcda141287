// Integration apps: the list of apps with their versions, one app's versions (definition,
// environment with secret values hidden, deprecation), and publishing a version from its JSON
// definition. A connection to a published version is made on the connections page.

import { call, hasScope } from "../api.js";
import { actionButton, announce, field, h, heading, jsonField, noticeArea, onSubmit, put, refill, table, time } from "../ui.js";

/** The apps (first 100, by key): `{data: [{key, name, latest_version, versions}]}`. */
export async function listApps() {
  return call("GET", "v1/apps", { query: { limit: 100 } });
}

/** The version view of `key` `version` (its definition, environment and status). */
export async function getVersion(key, version) {
  return call("GET", versionPath(key, version));
}

function versionPath(key, version) {
  return `v1/apps/${encodeURIComponent(key)}/versions/${encodeURIComponent(version)}`;
}

/** Every version of the app `key`, in semver order. */
export async function listVersions(key) {
  return call("GET", `v1/apps/${encodeURIComponent(key)}/versions`, { query: { limit: 100 } });
}

function publishForm(onPublished) {
  const definition = h("textarea", { id: "app-definition", rows: "14", required: true, spellcheck: "false" });
  const environment = h("textarea", { id: "app-environment", rows: "4", spellcheck: "false" });
  const errors = h("div", { "aria-live": "assertive" });
  const form = h(
    "form",
    { class: "stacked", "aria-labelledby": "publish-version" },
    h("h2", { id: "publish-version" }, "Publish a version"),
    field("Definition (JSON)", definition, "An app definition (docs/apps.md); its key and version are in it."),
    field("Environment (JSON object)", environment, 'Values of its environment variables, e.g. {"BASE_URL": "https://tool.example"}; secret ones are never shown again.'),
    errors,
    h("button", { type: "submit", class: "primary" }, "Publish"),
  );
  onSubmit(form, errors, async () => {
    const body = {
      definition: jsonField("definition", definition.value),
      environment: jsonField("environment", environment.value, {}),
    };
    const published = await call("POST", "v1/apps", { body });
    form.reset();
    await onPublished(published);
  });
  return form;
}

function versionList(app) {
  return app.versions.map((v) => `${v.version}${v.status === "deprecated" ? " (deprecated)" : ""}`).join(", ");
}

/** `#/apps` */
export async function render(view) {
  const notices = noticeArea();
  const body = h("div");
  const reload = async () => {
    const page = await listApps();
    const rows = page.data.map((a) => [
      h("span", {}, a.name, h("br"), h("code", { class: "id" }, a.key)),
      a.description || "",
      a.latest_version ?? h("em", {}, "none: every version is deprecated"),
      versionList(a),
      h("a", { class: "button", href: `#/apps/${encodeURIComponent(a.key)}`, "aria-label": `Versions of ${a.name}` }, "Versions"),
    ]);
    refill(body,
      page.data.length === 0
        ? h("p", {}, "No apps published yet.")
        : table("Apps", ["App", "Description", "Latest version", "Versions", "Actions"], rows));
  };
  put(view, heading("Apps"), notices.el, body);
  await reload();
  if (hasScope("apps:write")) {
    put(view, publishForm(async (v) => {
      await reload();
      notices.show("Published ", h("a", { href: `#/apps/${encodeURIComponent(v.key)}` }, `${v.key} ${v.version}`), ".");
      announce(`Published ${v.key} ${v.version}`);
    }));
  }
}

function environmentList(environment) {
  const entries = Object.entries(environment ?? {});
  if (entries.length === 0) return "—";
  return h("ul", { class: "plain" }, entries.map(([k, v]) => h("li", {}, h("code", {}, k), " = ", h("code", {}, String(v)))));
}

function versionActions(v, notices, reload) {
  const published = v.status === "published";
  const label = `${v.key} ${v.version}`;
  return h(
    "div",
    { class: "actions" },
    published && hasScope("connections:write") &&
      h("a", { class: "button", href: `#/connections/new?app=${encodeURIComponent(v.key)}&version=${encodeURIComponent(v.version)}`, "aria-label": `New connection to ${label}` }, "New connection"),
    published && hasScope("apps:write") &&
      actionButton(
        "Deprecate",
        async () => {
          if (!window.confirm(`Deprecate ${label}? Its connections keep running; no new connection or upgrade can use it.`)) return;
          await call("POST", `${versionPath(v.key, v.version)}/deprecate`);
          await reload(`${label} deprecated.`);
          announce(`${label} deprecated`);
        },
        notices,
        { "aria-label": `Deprecate ${label}` },
      ),
  );
}

/** `#/apps/{key}` */
export async function renderApp(view, { segments }) {
  const key = segments[1];
  const notices = noticeArea();
  const body = h("div");
  put(view, heading(`App ${key}`), h("p", {}, h("a", { href: "#/apps" }, "All apps")), notices.el, body);
  const reload = async (message) => {
    const { data } = await listVersions(key);
    const rows = data.map((v) => [
      h("code", {}, v.version),
      h("span", { class: `status status-${v.status === "published" ? "succeeded" : "pending"}` }, v.status),
      h("span", {}, time(v.published_at), " by ", h("code", {}, v.published_by)),
      environmentList(v.environment),
      h("details", {}, h("summary", {}, `Definition of ${v.version}`), h("pre", {}, JSON.stringify(v.definition, null, 2))),
      versionActions(v, notices, reload),
    ]);
    refill(body,
      data[0] && h("p", {}, data[0].description || data[0].name),
      table(`Versions of ${key}`, ["Version", "Status", "Published", "Environment", "Definition", "Actions"], rows));
    if (message) notices.show(message);
  };
  await reload();
}
