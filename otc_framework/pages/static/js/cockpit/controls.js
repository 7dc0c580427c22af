// The controls an operator reaches for during the day (SPEC §8, §10): execution mode and LP
// override, LP quote mode, quoting, and the risk limits, each with the shared editor
// (../controls.js). Only those the desk lists are shown, in this order. A `control.changed`
// (another tab, the API) or a reconnect re-reads them, replacing only the editors whose control
// changed and that are not being edited or saved here, as the admin panel does.

import { el, replace } from "../dom.js";
import { problemMessage } from "../problems.js";
import { controlItems } from "../controls.js";
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

export function mount(node, api, feed) {
  const list = el("div", { class: "cockpit-controls" });
  const error = el("p", { class: "error", role: "alert" });
  replace(node, list, error);
  const sync = controlItems(api, {
    label: (control) => LABELS.get(control.key),
    draw: (items) => replace(list, items.map((item) => item.node)),
  });

  const load = serialized(async () => {
    try {
      const { items } = await api.get("/v1/admin/controls");
      const byKey = new Map(items.map((control) => [control.key, control]));
      sync(SHOWN.map(([key]) => byKey.get(key)).filter(Boolean));
      replace(error);
    } catch (problem) {
      replace(error, problemMessage(problem));
    }
  });

  load();
  feed.on(["control.changed"], () => load());
}
