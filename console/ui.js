// DOM helpers shared by the pages: elements built from plain data (text is always set as
// text, never parsed as HTML), forms with real labels, tables, the live region that tells a
// screen reader what an action did, and the conversions between the API's RFC 3339 times
// and the browser's `datetime-local` inputs.

const SVG_NS = "http://www.w3.org/2000/svg";

/** Appends children (nodes, strings, numbers, arrays; null and false are skipped). */
function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Appends children to `el` as `h` does (arrays flattened; null, undefined and false skipped). */
export function put(el, ...children) {
  return append(el, children);
}

/** Replaces the children of `el` with these, as `put` appends them. */
export function refill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Sets attributes; `on<Event>` keys add listeners; `true` sets a boolean attribute. */
function attributes(el, props) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "value" && "value" in el) {
      el.value = value;
    } else if (key === "checked" || key === "selected") {
      el[key] = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  return el;
}

/** An HTML element: `h("button", {type: "button", onClick}, "Save")`. */
export function h(tag, props, ...children) {
  return append(attributes(document.createElement(tag), props), children);
}

/** An SVG element, for the chart. */
export function svg(tag, props, ...children) {
  return append(attributes(document.createElementNS(SVG_NS, tag), props), children);
}

/** Says `message` to assistive technology (and shows it in the page's notice area). */
export function announce(message) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  // A change of text after a tick is announced even when the same message comes twice.
  setTimeout(() => {
    region.textContent = message;
  }, 50);
}

/** Moves the focus to `el` when a re-render took it away (it fell back to the body). */
export function keepFocus(el) {
  const active = document.activeElement;
  if (el && (!active || active === document.body)) el.focus();
}

/** A notice area: `show(nodes)` replaces its content, `error(err)` shows an API error. */
export function noticeArea() {
  const el = h("div", { class: "notices", "aria-live": "polite" });
  return {
    el,
    show(...children) {
      el.replaceChildren(h("div", { class: "notice", tabindex: "-1" }, ...children));
      keepFocus(el.firstChild);
    },
    error(err) {
      el.replaceChildren(errorBox(err));
      keepFocus(el.firstChild);
    },
    clear() {
      el.replaceChildren();
    },
  };
}

/** An API or network error as an alert: the problem's detail and each field's message. */
export function errorBox(err) {
  const fields = err?.fieldErrors ?? [];
  return h(
    "div",
    { class: "error", role: "alert", tabindex: "-1" },
    h("p", {}, err?.message ?? String(err)),
    fields.length > 0 &&
      h("ul", {}, fields.map((f) => h("li", {}, h("code", {}, f.field), ": ", f.message))),
  );
}

/** A labelled form control. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 10)}`;
  control.id = id;
  const hintEl = hint ? h("span", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  if (control.type === "checkbox") {
    return h("div", { class: "field check" }, control, h("label", { for: id }, label), hintEl);
  }
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl);
}

/** A `<select>` of `[value, label]` pairs. */
export function select(props, options, selected) {
  return h(
    "select",
    props,
    options.map(([value, label]) =>
      h("option", { value, selected: value === (selected ?? "") }, label),
    ),
  );
}

/** A table with a caption, column headers and rows of cells (nodes or text). */
export function table(caption, headers, rows) {
  // Wide tables scroll inside their own box, which the keyboard can reach and scroll.
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c))))),
    ),
  );
}

/** A button that is disabled while its action runs; the action's error goes to `notices`. */
export function actionButton(label, action, notices, props = {}) {
  const button = h("button", { type: "button", ...props }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await action(button);
    } catch (err) {
      notices?.error(err);
      announce(err?.message ?? String(err));
    } finally {
      if (button.isConnected) button.disabled = false;
    }
  });
  return button;
}

/**
 * Runs `action()` when `form` is submitted, its submit button disabled meanwhile; a failure
 * is shown in `errors` and announced (and `action` may mark fields before rethrowing it).
 */
export function onSubmit(form, errors, action) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = form.querySelector('button[type="submit"]');
    submit.disabled = true;
    errors.replaceChildren();
    try {
      await action();
    } catch (err) {
      errors.replaceChildren(errorBox(err));
      announce(err?.message ?? String(err));
    } finally {
      submit.disabled = false;
    }
  });
}

/** A secret shown once, with a button that copies it. */
export function secretBox(label, secret) {
  const code = h("code", { class: "secret-value" }, secret);
  const copy = h("button", { type: "button" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secret);
      announce("Copied");
    } catch {
      // No clipboard (an insecure origin, a refused permission): select it for copying.
      const range = document.createRange();
      range.selectNodeContents(code);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      announce("Selected: copy it with the keyboard");
    }
  });
  return h(
    "div",
    { class: "secret", role: "group", "aria-label": label },
    h("p", {}, h("strong", {}, label), " — shown once: copy it now, it cannot be read again."),
    h("p", {}, code, " ", copy),
  );
}

/** A time of the API as the browser's local time, with the UTC value as a tooltip. */
export function time(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return h("time", { datetime: iso, title: iso }, date.toLocaleString());
}

/** The value of a `datetime-local` input (the browser's local time) as RFC 3339 UTC. */
export function toRfc3339(localValue) {
  if (!localValue) return undefined;
  const date = new Date(localValue);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A date as a `datetime-local` value, to the second. */
export function toLocalInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** An RFC 3339 time as a `datetime-local` value (empty for none). */
export function isoToLocalInput(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : toLocalInput(date);
}

/** A `datetime-local` input, to the second. */
export function timeInput(props) {
  return h("input", { type: "datetime-local", step: "1", ...props });
}

/**
 * The JSON typed in the text area `name`: `empty` when there is none; an error naming the
 * field (as the API's field errors do) when it does not parse.
 */
export function jsonField(name, text, empty = null) {
  if (!text.trim()) return empty;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw Object.assign(new Error(`${name}: not valid JSON (${err.message})`), {
      fieldErrors: [{ field: name, message: "not valid JSON" }],
    });
  }
}

/** A comma- or blank-separated list typed in a text field. */
export function splitList(text) {
  return (text ?? "")
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The page's heading, focusable so that navigation can move the focus to it. */
export function heading(text) {
  return h("h1", { tabindex: "-1" }, text);
}
