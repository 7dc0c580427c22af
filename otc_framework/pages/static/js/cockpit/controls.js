// The controls an operator reaches for during the day (SPEC §8, §10): execution mode and LP
// override, LP quote mode, quoting, and the risk limits, each with the shared editor
// (../controls.js). Only those the desk lists are shown, in this order. A `control.changed`
// (another tab, the API) or a reconnect re-reads them, replacing only the editors whose control
// changed and that are not being edited or saved here, as the admin panel does.

import { el, replace } from "../dom.js";
import { dateTime } from "../money.js";
import { problemMessage } from "../problems.js";
import { controlEditor } from "../controls.js";
import { serialized } from "./common.js";

const SHOWN = [
  ["exec_mode", "Execution mode"],
  ["exec_lp_override", "LP override"],
  ["lp_quote_mode_enabled", "LP quote mode"],
  ["quoting_enabled", "Quoting enabled"],
  ["risk_max_open_exposure", "Max open exposure"],
  ["risk_client_daily_limit", "Client daily limit"],
  ["exec_max_order_amount", "Max hedge order"],
];
const LABELS = new Map(SHOWN);

function lastChange(control) {
  return control.updatedBy ? `changed by ${control.updatedBy}, ${dateTime(control.updatedAt)}` : "never changed";
}

export function mount(node, api, feed) {
  const list = el("div", { class: "cockpit-controls" });
  const error = el("p", { class: "error", role: "alert" });
  replace(node, list, error);
  const shown = new Map(); // key → {control, node}

  function item(control) {
    const meta = el("p", { class: "muted control-meta" });
    const describe = () => replace(meta, lastChange(control));
    describe();
    const editor = controlEditor(api, control, { onSaved: describe, label: LABELS.get(control.key) });
    return el("div", { class: "control-item", dataset: { key: control.key } }, editor, meta);
  }

  function render(items) {
    shown.clear();
    replace(list, items.map((control) => {
      const node = item(control);
      shown.set(control.key, { control, node });
      return node;
    }));
  }

  const load = serialized(async () => {
    try {
      const { items } = await api.get("/v1/admin/controls");
      const byKey = new Map(items.map((control) => [control.key, control]));
      const wanted = SHOWN.map(([key]) => byKey.get(key)).filter(Boolean);
      const same = wanted.length === shown.size && wanted.every((control) => shown.has(control.key));
      if (!same) render(wanted);
      for (const control of same ? wanted : []) {
        const held = shown.get(control.key);
        // Being typed in, or a save on its way (its button disabled): that editor stays.
        const busy = held.node.contains(document.activeElement) || held.node.querySelector("button:disabled");
        if (held.control.updatedAt === control.updatedAt || busy) continue;
        const fresh = item(control);
        held.node.replaceWith(fresh);
        shown.set(control.key, { control, node: fresh });
      }
      replace(error);
    } catch (problem) {
      replace(error, problemMessage(problem));
    }
  });

  load();
  feed.on(["control.changed"], () => load());
}
