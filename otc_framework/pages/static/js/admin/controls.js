// The controls section (SPEC §8): every control, grouped by the part of the desk that owns
// it, each with the shared editor, its default and who changed it last.

import { el, replace } from "../dom.js";
import { dateTime } from "../money.js";
import { problemMessage } from "../problems.js";
import { controlEditor } from "../controls.js";

function text(value) {
  if (value === true) return "on";
  if (value === false) return "off";
  return value === null || value === undefined || value === "" ? "(empty)" : String(value);
}

function lastChange(control) {
  return control.updatedBy ? `changed by ${control.updatedBy}, ${dateTime(control.updatedAt)}` : "never changed";
}

export function mount(section, api, feed) {
  const error = el("p", { class: "error", role: "alert" });
  const list = el("div", { class: "controls-list" });
  section.append(error, list);

  function item(control) {
    const meta = el("p", { class: "muted control-meta" });
    const describe = () => replace(meta, `Default ${text(control.default)} · ${lastChange(control)}`);
    describe();
    const editor = controlEditor(api, control, { onSaved: describe });
    return el("div", { class: "control-item", dataset: { key: control.key } }, editor, meta);
  }

  // key → {control, node}: a re-read replaces only the editors whose control changed since
  // (another tab's save), so this tab's own "Saved" and what is being typed elsewhere stay.
  const shown = new Map();

  function render(items) {
    shown.clear();
    const owners = [...new Set(items.map((control) => control.owner))];
    replace(list, owners.map((owner) => el("section", { class: "control-group", "aria-label": `${owner} controls` },
      el("h3", {}, owner),
      el("div", { class: "control-items" }, items.filter((control) => control.owner === owner).map((control) => {
        const node = item(control);
        shown.set(control.key, { control, node });
        return node;
      })))));
  }

  async function load() {
    try {
      const { items } = await api.get("/v1/admin/controls");
      const same = items.length === shown.size && items.every((control) => shown.has(control.key));
      if (!same) render(items);
      for (const control of same ? items : []) {
        const held = shown.get(control.key);
        // A save of this tab still on its way (its button is disabled) brings its own answer.
        const busy = held.node.contains(document.activeElement) || held.node.querySelector("button:disabled");
        if (held.control.updatedAt === control.updatedAt || busy) continue;
        const node = item(control);
        held.node.replaceWith(node);
        shown.set(control.key, { control, node });
      }
      replace(error);
    } catch (problem) {
      replace(error, problemMessage(problem));
    }
  }

  load();
  feed.on(["control.changed"], load);
}
