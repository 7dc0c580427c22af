// One control's editor (SPEC §8), shared by the admin panel and the cockpit: the input its
// type calls for, its bounds, and a Save that PUTs the value and shows the server's answer
// (a value out of bounds is refused there with VALIDATION_ERROR, shown next to the input).

import { el, replace } from "./dom.js";
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
