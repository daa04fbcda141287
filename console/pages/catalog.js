// The event catalog: each type's description, the JSON Schema of its `data`, and an example
// payload (where the catalog has one), with a filter by name.

import { call } from "../api.js";
import { h, heading, put } from "../ui.js";

function pretty(value) {
  return JSON.stringify(value, null, 2);
}

function typeEntry(t) {
  const id = `type-${t.name.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  return h(
    "article",
    { class: "event-type", "aria-labelledby": id, "data-name": t.name.toLowerCase() },
    h("h2", { id }, t.name),
    h("p", {}, t.description || h("em", {}, "no description")),
    h(
      "details",
      {},
      h("summary", {}, `Schema of ${t.name}`),
      t.schema ? h("pre", { tabindex: "0" }, h("code", {}, pretty(t.schema))) : h("p", {}, "No schema: any JSON value but null is accepted as data."),
    ),
    h(
      "details",
      {},
      h("summary", {}, `Example of ${t.name}`),
      t.example !== undefined && t.example !== null
        ? h("pre", { tabindex: "0" }, h("code", {}, pretty(t.example)))
        : h("p", {}, "The catalog has no example of this type."),
    ),
  );
}

/** `#/catalog` */
export async function render(view) {
  const { data } = await call("GET", "v1/event-types");
  const filter = h("input", { type: "search", id: "catalog-filter", spellcheck: "false" });
  const count = h("p", { "aria-live": "polite" });
  const entries = data.map(typeEntry);
  const apply = () => {
    const needle = filter.value.trim().toLowerCase();
    let shown = 0;
    for (const entry of entries) {
      entry.hidden = needle !== "" && !entry.dataset.name.includes(needle);
      if (!entry.hidden) shown += 1;
    }
    count.textContent = `${shown} of ${entries.length} event types`;
  };
  filter.addEventListener("input", apply);
  put(
    view,
    heading("Event catalog"),
    h("div", { class: "field" }, h("label", { for: "catalog-filter" }, "Filter by name"), filter),
    count,
    entries,
  );
  apply();
}

/** A text input for an event type, suggesting the catalog's names. */
export async function eventTypeInput(props, value) {
  const { data } = await call("GET", "v1/event-types");
  const listId = `${props.id ?? "event-type"}-names`;
  const list = h("datalist", { id: listId }, data.map((t) => h("option", { value: t.name })), h("option", { value: "hookline.ping" }));
  const input = h("input", { ...props, list: listId, value: value ?? "", spellcheck: "false", autocomplete: "off" });
  return { input, list };
}
