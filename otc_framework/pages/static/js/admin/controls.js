// The controls section (SPEC §8): every control, grouped by the part of the desk that owns
// it, each with the shared editor, its default and who changed it last.

import { el, replace } from "../dom.js";
import { problemMessage } from "../problems.js";
import { controlItems, lastChange } from "../controls.js";

function text(value) {
  if (value === true) return "on";
  if (value === false) return "off";
  return value === null || value === undefined || value === "" ? "(empty)" : String(value);
}

export function mount(section, api, feed) {
  const error = el("p", { class: "error", role: "alert" });
  const list = el("div", { class: "controls-list" });
  section.append(error, list);

  const sync = controlItems(api, {
    meta: (control) => `Default ${text(control.default)} · ${lastChange(control)}`,
    draw(items) {
      const owners = [...new Set(items.map(({ control }) => control.owner))];
      replace(list, owners.map((owner) => el("section", { class: "control-group", "aria-label": `${owner} controls` },
        el("h3", {}, owner),
        el("div", { class: "control-items" },
          items.filter(({ control }) => control.owner === owner).map(({ node }) => node)))));
    },
  });

  async function load() {
    try {
      sync((await api.get("/v1/admin/controls")).items);
      replace(error);
    } catch (problem) {
      replace(error, problemMessage(problem));
    }
  }

  load();
  feed.on(["control.changed"], load);
}
