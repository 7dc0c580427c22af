// Today's hedges (SPEC §10): GET /v1/admin/hedges since today's date in São Paulo, then each
// `hedge.changed` upserts its row (an older event never overwrites a newer state; a hedge not
// listed yet is new, so it goes on top). Each row carries data-closing-id; its status is a
// word in a badge, with the reason under it when there is one. A reconnect re-reads the list.

import { el, replace } from "../dom.js";
import { amount, bps, dateTime, price, saoPauloDay } from "../money.js";
import { problemMessage } from "../problems.js";
import { badge } from "./common.js";

const LIMIT = 200;
const COLUMNS = [
  ["Created", ""], ["Closing", ""], ["Trade", ""], ["Status", ""], ["Provider", ""], ["Amount", "num"],
  ["Client price", "num"], ["Fill price", "num"], ["Filled", "num"], ["Spread capture", "num"],
];

function orDash(value, format) {
  return value === null || value === undefined ? "—" : format(value);
}

function row(hedge) {
  return el("tr", { dataset: { closingId: hedge.closingId, hedgeId: hedge.id, status: hedge.status } },
    el("td", {}, el("time", { datetime: hedge.createdAt }, dateTime(hedge.createdAt))),
    el("td", {}, el("code", { title: hedge.closingId }, hedge.closingId.slice(0, 8))),
    el("td", {}, `${hedge.side} ${hedge.currency} ${hedge.settlement}`),
    el("td", { class: "hedge-status" }, badge(hedge.status),
      hedge.attempt > 1 ? el("span", { class: "muted" }, ` attempt ${hedge.attempt}`) : null,
      hedge.reason ? el("span", { class: "muted reason" }, hedge.reason) : null),
    el("td", { class: "provider" }, hedge.provider || "—"),
    el("td", { class: "num" }, amount(hedge.amount)),
    el("td", { class: "num" }, price(hedge.clientPrice)),
    el("td", { class: "num" }, orDash(hedge.fillPrice, price)),
    el("td", { class: "num" }, amount(hedge.filledAmount)),
    el("td", { class: "num" }, orDash(hedge.spreadCaptureBps, bps)));
}

export function mount(node, api, feed) {
  let items = [];
  const body = el("tbody");
  const empty = el("p", { class: "muted" }, "No hedge today.");
  const more = el("p", { class: "muted", hidden: true }, `Only the newest ${LIMIT} are shown; the admin API lists the rest.`);
  const error = el("p", { class: "error", role: "alert" });
  replace(node, el("div", { class: "scroll" }, el("table", { id: "hedge-table", class: "hedges" },
    el("caption", { class: "muted" }, "Newest first; amounts in stablecoin units, prices in BRL per unit."),
    el("thead", {}, el("tr", {}, COLUMNS.map(([title, kind]) => el("th", { scope: "col", class: kind || undefined }, title)))),
    body)), empty, more, error);

  function render() {
    replace(body, items.map(row));
    empty.hidden = items.length > 0;
  }

  function upsert(hedge) {
    const at = items.findIndex((h) => h.id === hedge.id);
    if (at >= 0) {
      if (items[at].updatedAt > hedge.updatedAt) return;
      items[at] = hedge;
    } else {
      items.unshift(hedge);
    }
    render();
  }

  async function load() {
    try {
      const page = await api.get("/v1/admin/hedges", { since: saoPauloDay(), limit: LIMIT });
      items = page.items;
      more.hidden = !page.nextCursor;
      render();
      replace(error);
    } catch (problem) {
      replace(error, problemMessage(problem));
    }
  }

  load();
  feed.on(["hedge.changed"], (message) => upsert(message.data), load);
}
