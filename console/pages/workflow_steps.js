// The steps of a workflow (a subscription with `mode: action`), for the subscription form:
// 1 to 5 steps, each a connection of the caller, one of its app version's create or update
// actions, and a mapping for each of the action's inputs — a value, or a template over the
// event (`{{ event.data.lot }}`). The actions and inputs offered are read from the version.

import { call } from "../api.js";
import { field, h, refill, select } from "../ui.js";
import { getVersion } from "./apps.js";

const MAX_STEPS = 5;

/** A mapping as typed: a number or boolean for an input of that type, else the text. */
function mapped(text, type) {
  if (type === "number" || type === "integer" || type === "boolean") {
    try {
      const value = JSON.parse(text);
      if (typeof value === (type === "boolean" ? "boolean" : "number")) return value;
    } catch {
      // A template or a text: sent as it is, and checked by the API.
    }
  }
  return text;
}

/** A labelled control whose label names its step (`Action — step 2`). */
function stepField(text, control, hint) {
  const wrapper = field(text, control, hint);
  const label = wrapper.querySelector("label");
  return { wrapper, control, number: (n) => { label.textContent = `${text} — step ${n}`; } };
}

/**
 * The steps editor: `el` (a fieldset), `load(steps)` fills it (the caller's connections are
 * read then), `read()` the `actions` of the request body, and `markInvalid(err)` marks the
 * controls the API's field errors name (`actions[1].input.status`).
 */
export function stepsEditor() {
  const list = h("ol", { class: "plain" });
  const problems = h("p", { class: "hint", "aria-live": "polite" });
  const showProblem = (err) => refill(problems, String(err?.message ?? err));
  const add = h("button", { type: "button" }, "Add a step");
  const steps = [];
  const definitions = new Map();
  let connections = [];

  const definition = (id) => {
    const c = connections.find((x) => x.id === id);
    const key = `${c.app}@${c.version}`;
    if (!definitions.has(key)) {
      // A failed read is not kept: the next change of the step reads it again.
      const read = getVersion(c.app, c.version).then((v) => v.definition);
      read.catch(() => definitions.delete(key));
      definitions.set(key, read);
    }
    return definitions.get(key);
  };

  const renumber = () => {
    steps.forEach((s, i) => s.number(i + 1));
    add.disabled = steps.length >= MAX_STEPS;
  };

  const newStep = async (initial) => {
    const connection = stepField("Connection", select({ required: true },
      connections.map((c) => [c.id, `${c.name || c.id} (${c.app} ${c.version})`]), initial?.connection_id ?? connections[0].id));
    const action = stepField("Action", select({ required: true }, [], ""), "Its create and update actions.");
    const heading = h("h2");
    const remove = h("button", { type: "button" }, "Remove this step");
    const inputBox = h("div");
    const step = { el: h("li", {}, heading, connection.wrapper, action.wrapper, inputBox, remove), inputs: [], n: 1 };
    step.number = (n) => {
      step.n = n;
      heading.textContent = `Step ${n}`;
      remove.setAttribute("aria-label", `Remove step ${n}`);
      remove.hidden = steps.length === 1;
      for (const f of [connection, action, ...step.inputs]) f.number(n);
    };
    const fillInputs = async (values) => {
      const declared = (await definition(connection.control.value)).actions?.[action.control.value]?.inputs ?? [];
      step.inputs = declared.map((f) => {
        const current = values?.[f.key];
        const control = h("input", {
          spellcheck: "false",
          required: Boolean(f.required),
          value: current === undefined ? "" : typeof current === "string" ? current : JSON.stringify(current),
        });
        const hint = [f.help, f.choices && `One of: ${f.choices.join(", ")}.`, "A value, or a template over the event such as {{ event.data.lot }}."];
        const input = stepField(`Input ${f.label || f.key}${f.required ? " (required)" : ""}`, control, hint.filter(Boolean).join(" "));
        return { ...input, key: f.key, read: () => (control.value === "" ? undefined : mapped(control.value, f.type ?? "string")) };
      });
      refill(inputBox, step.inputs.map((i) => i.wrapper));
      step.number(step.n);
    };
    const fillActions = async (wanted, values) => {
      const def = await definition(connection.control.value);
      const offered = Object.entries(def.actions ?? {}).filter(([, a]) => a.kind !== "search");
      const options = offered.map(([key, a]) => h("option", { value: key, selected: key === wanted }, `${a.label || key} (${key})`));
      // A stored step's action its version no longer offers stays chosen (the API says why on
      // saving) rather than turning silently into the first action.
      if (wanted && !offered.some(([key]) => key === wanted)) {
        options.unshift(h("option", { value: wanted, selected: true }, `${wanted} (not an action of this version)`));
      }
      refill(action.control, options);
      await fillInputs(values);
    };
    connection.control.addEventListener("change", () => fillActions().catch(showProblem));
    action.control.addEventListener("change", () => fillInputs().catch(showProblem));
    remove.addEventListener("click", () => {
      steps.splice(steps.indexOf(step), 1);
      step.el.remove();
      renumber();
      add.focus();
    });
    step.read = () => {
      const input = {};
      for (const i of step.inputs) {
        const value = i.read();
        if (value !== undefined) input[i.key] = value;
      }
      return { connection_id: connection.control.value, action: action.control.value, input };
    };
    step.controls = { connection_id: connection.control, action: action.control };
    steps.push(step);
    list.append(step.el);
    renumber();
    await fillActions(initial?.action, initial?.input);
  };

  add.addEventListener("click", () => newStep().catch(showProblem));
  const el = h("fieldset", {}, h("legend", {}, "Steps, run in order for each event"), list, problems, add);

  return {
    el,
    async load(initial) {
      ({ data: connections } = await call("GET", "v1/connections", { query: { limit: 100 } }));
      // A stored step's connection beyond the first page is read by id, so that the step keeps
      // it instead of showing (and saving) the first connection listed.
      for (const id of new Set((initial ?? []).map((step) => step.connection_id))) {
        if (!connections.some((c) => c.id === id)) connections.push(await call("GET", `v1/connections/${encodeURIComponent(id)}`));
      }
      list.replaceChildren();
      steps.length = 0;
      if (connections.length === 0) {
        refill(problems, "You have no connection yet: make one on the Connections page first.");
        add.disabled = true;
        return;
      }
      for (const s of initial?.length ? initial : [undefined]) await newStep(s);
    },
    read: () => steps.map((s) => s.read()),
    markInvalid(err) {
      const controls = steps.flatMap((s) => [...Object.values(s.controls), ...s.inputs.map((i) => i.control)]);
      for (const c of controls) c.removeAttribute("aria-invalid");
      for (const { field: name } of err.fieldErrors ?? []) {
        const m = /^actions\[(\d+)\]\.(connection_id|action|input\.(\w+))/.exec(String(name));
        const s = m && steps[Number(m[1])];
        if (!s) continue;
        const control = m[3] ? s.inputs.find((i) => i.key === m[3])?.control : s.controls[m[2]];
        control?.setAttribute("aria-invalid", "true");
      }
    },
  };
}
