// The spreads section (SPEC §4, §9): the tier spread grid (tier × currency × settlement) and
// the LP spread grid (tier × currency, LP quote mode), both edited in place. Values travel
// as decimal strings; the server checks the bounds (0 to 10 %, 4 decimals).

import { el, replace } from "../dom.js";
import { problemMessage } from "../problems.js";
import { percentCell } from "./spreads-cell.js";

function tierGrid(api, grid) {
  const tiers = Object.keys(grid);
  const currencies = Object.keys(grid[tiers[0]]);
  const settlements = Object.keys(grid[tiers[0]][currencies[0]]);
  const cells = new Map();
  const rows = tiers.map((tier) => el("tr", {}, el("th", { scope: "row" }, tier),
    currencies.flatMap((currency) => settlements.map((settlement) => {
      const path = `/v1/admin/spreads/${tier}/${currency}/${settlement}`;
      const cell = percentCell(`${tier} ${currency} ${settlement} spread %`, grid[tier][currency][settlement],
        async (value) => (await api.put(path, { spreadPct: value })).spreadPct);
      cells.set(`${tier}/${currency}/${settlement}`, cell);
      return cell.cell;
    }))));
  const table = el("table", { class: "spread-grid", id: "spread-grid" },
    el("thead", {},
      el("tr", {}, el("td"), currencies.map((currency) => el("th", { scope: "colgroup", colspan: settlements.length }, currency))),
      el("tr", {}, el("th", { scope: "col" }, "Tier"),
        currencies.flatMap((currency) => settlements.map((settlement) => el("th", { scope: "col", class: "num", title: `${currency} ${settlement}` }, settlement))))),
    el("tbody", {}, rows));
  return {
    node: table,
    update(next) {
      for (const [key, cell] of cells) {
        const [tier, currency, settlement] = key.split("/");
        cell.update(next[tier][currency][settlement]);
      }
    },
  };
}

function lpGrid(api, grid) {
  const tiers = Object.keys(grid);
  const currencies = Object.keys(grid[tiers[0]]);
  const cells = new Map();
  const rows = tiers.map((tier) => el("tr", {}, el("th", { scope: "row" }, tier), currencies.map((currency) => {
    const cell = percentCell(`${tier} ${currency} LP spread %`, grid[tier][currency],
      async (value) => (await api.put(`/v1/admin/lp-spreads/${tier}/${currency}`, { lpSpreadPct: value })).lpSpreadPct,
      { empty: true });
    cells.set(`${tier}/${currency}`, cell);
    return cell.cell;
  })));
  const table = el("table", { class: "spread-grid", id: "lp-spread-grid" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Tier"), currencies.map((currency) => el("th", { scope: "col", class: "num" }, currency)))),
    el("tbody", {}, rows));
  return {
    node: table,
    update(next) {
      for (const [key, cell] of cells) {
        const [tier, currency] = key.split("/");
        cell.update(next[tier][currency]);
      }
    },
  };
}

export function mount(section, api, feed) {
  const error = el("p", { class: "error", role: "alert" });
  const tierBox = el("div", { class: "scroll" });
  const lpBox = el("div", { class: "scroll" });
  const hint = el("p", { class: "muted" }, "Enter or leaving a cell saves it; Escape puts the saved value back.");
  section.append(hint, error, el("div", { class: "spread-grids" },
    el("div", {}, el("h3", {}, "Tier spreads"),
      el("p", { class: "muted" }, "In % over the reference price, by currency and settlement."), tierBox),
    el("div", {}, el("h3", {}, "LP spreads"),
      el("p", { class: "muted" }, "In % over the cheapest LP ask (LP quote mode). Empty: priced from spot."), lpBox)));
  let tiers = null;
  let lps = null;

  async function load() {
    try {
      const [spreads, lpSpreads] = await Promise.all([api.get("/v1/admin/spreads"), api.get("/v1/admin/lp-spreads")]);
      if (tiers) tiers.update(spreads.grid);
      else replace(tierBox, (tiers = tierGrid(api, spreads.grid)).node);
      if (lps) lps.update(lpSpreads.grid);
      else replace(lpBox, (lps = lpGrid(api, lpSpreads.grid)).node);
      replace(error);
    } catch (problem) {
      replace(error, problemMessage(problem));
    }
  }

  load();
  feed.on(["spread.changed", "lp_spread.changed"], load);
}
