// One control's editor (SPEC §8), shared by the admin panel and the cockpit: the input its
// type calls for, its bounds, and a Save that PUTs the value and shows the server's answer
// (a value out of bounds is refused there with VALIDATION_ERROR, shown next to the input).

import { el, replace } from "./dom.js";
import { dateTime } from "./money.js";
import { problemMessage } from "./problems.js";

function input(control, id) {
  const value = control.value;
  if (control.type === "bool") {
    return el("input", { id, type: "checkbox", checked: value === true });
  }
  if (control.type === "enum") {
    return el("select", { id }, control.choices.map((choice) => el("option", { value: choice, selected: choice === value }, choice)));
  }
  const attributes = { id, type: "text", value: value === null || value === undefined ? "" : String(value), spellcheck: "false" };
  if (control.type === "int" || control.type === "decimal") attributes.inputmode = control.type === "int" ? "numeric" : "decimal";
  return el("input", attributes);
}

function read(control, field) {
  if (control.type === "bool") return field.checked;
  if (control.type === "int") return /^-?[0-9]+$/.test(field.value.trim()) ? Number(field.value.trim()) : field.value.trim();
  // Decimals travel as strings (never a float); the API validates their form and bounds.
  return field.value.trim();
}

export function bounds(control) {
  const parts = [];
  if (control.minimum !== null && control.minimum !== undefined) parts.push(`min ${control.minimum}`);
  if (control.maximum !== null && control.maximum !== undefined) parts.push(`max ${control.maximum}`);
  return parts.join(", ");
}

// An element holding the label, the input, its type and bounds, and Save. `onSaved(control)`
// runs with the server's answer.
export function controlEditor(api, control, { onSaved = () => {}, label = control.key } = {}) {
  const id = `control-${control.key}`;
  const field = input(control, id);
  const message = el("span", { class: "error", role: "alert" });
  const hint = el("span", { class: "muted" }, [control.type, bounds(control)].filter(Boolean).join(" · "));
  const save = el("button", { type: "submit" }, "Save");
  const form = el("form", { class: "row control", dataset: { key: control.key } },
    el("div", { class: "field" }, el("label", { for: id }, label), field),
    el("div", { class: "field" }, el("span", { class: "muted" }, control.description), hint),
    save, message);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    save.disabled = true;
    replace(message);
    try {
      const answer = await api.put(`/v1/admin/controls/${encodeURIComponent(control.key)}`, { value: read(control, field) });
      Object.assign(control, answer);
      message.className = "muted";
      replace(message, "Saved");
      onSaved(answer);
    } catch (problem) {
      message.className = "error";
      replace(message, problemMessage(problem));
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

export function lastChange(control) {
  return control.updatedBy ? `changed by ${control.updatedBy}, ${dateTime(control.updatedAt)}` : "never changed";
}

// Editors kept in step with the server, for the admin panel and the cockpit alike.
// `sync(items)` draws them the first time (and when the set of controls changed), through
// `draw([{control, node}])`; after that it replaces only the editors whose control changed
// since (another tab's save), and leaves one being typed in or saved here (its button
// disabled), so this tab's own "Saved" and typing stay. `meta(control)` is the line under an
// editor; `label(control)` its label.
export function controlItems(api, { draw, meta = lastChange, label = (control) => control.key }) {
  const shown = new Map(); // key → {control, node}

  function item(control) {
    const line = el("p", { class: "muted control-meta" });
    const describe = () => replace(line, meta(control));
    describe();
    const editor = controlEditor(api, control, { onSaved: describe, label: label(control) });
    return el("div", { class: "control-item", dataset: { key: control.key } }, editor, line);
  }

  return function sync(items) {
    const same = items.length === shown.size && items.every((control) => shown.has(control.key));
    if (!same) {
      shown.clear();
      for (const control of items) shown.set(control.key, { control, node: item(control) });
      draw(items.map((control) => shown.get(control.key)));
      return;
    }
    for (const control of items) {
      const held = shown.get(control.key);
      const busy = held.node.contains(document.activeElement) || held.node.querySelector("button:disabled");
      if (held.control.updatedAt === control.updatedAt || busy) continue;
      const node = item(control);
      held.node.replaceWith(node);
      shown.set(control.key, { control, node });
    }
  };
}
