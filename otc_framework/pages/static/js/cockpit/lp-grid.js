// The LP price grid (SPEC §10, §17): each provider's latest bid and ask per currency and
// settlement, read from GET /v1/admin/lp-feed and then upserted by every `lp.tick`. A price
// that moved since the provider's previous tick gets ▲ or ▼ and a word (never colour alone).
// A row with no tick for STALE_MS is dimmed and says "stale"; that is checked every second
// against Date.now() (the page's clock: its ticks' arrival, not the server's timestamps). A
// reconnect re-reads the feed, since ticks meanwhile were missed.

import { $, el, replace } from "../dom.js";
import { compare, dateTime, price } from "../money.js";
import { problemMessage } from "../problems.js";

const STALE_MS = 6000;

function rowKey(tick) {
  return `${tick.provider}|${tick.currency}|${tick.settlement}`;
}

function moveMark(move) {
  if (move === 0) return [];
  const up = move > 0;
  return [
    el("span", { class: `move ${up ? "up" : "down"}`, "aria-hidden": "true" }, up ? " ▲" : " ▼"),
    el("span", { class: "visually-hidden" }, up ? " up" : " down"),
  ];
}

export function mount(node, api, feed) {
  const rows = new Map(); // key → {tr, tick, arrivedAt}
  const body = el("tbody");
  const empty = el("p", { class: "muted" }, "No LP price yet.");
  const error = el("p", { class: "error", role: "alert" });
  const table = el("table", { class: "lp-grid", id: "lp-table" },
    el("caption", { class: "muted" }, "BRL per unit, as each LP streams it; dimmed and marked stale after 6 s without a tick."),
    el("thead", {}, el("tr", {}, ["LP", "Instrument", "Bid", "Ask", "Priced at", "State"].map((title) =>
      el("th", { scope: "col", class: ["Bid", "Ask"].includes(title) ? "num" : undefined }, title)))),
    body);
  replace(node, el("div", { class: "scroll" }, table), empty, error);

  function side(td, value, before) {
    replace(td, el("span", { class: "price" }, price(value)), moveMark(before === undefined ? 0 : compare(value, before)));
  }

  function markStale(row) {
    const stale = Date.now() - row.arrivedAt > STALE_MS;
    if (row.tr.classList.contains("stale") === stale && row.state.textContent) return;
    row.tr.classList.toggle("stale", stale);
    replace(row.state, stale ? "stale" : "live");
  }

  function upsert(tick, arrivedAt) {
    const key = rowKey(tick);
    let row = rows.get(key);
    if (!row) {
      const tr = el("tr", { dataset: { provider: tick.provider, currency: tick.currency, settlement: tick.settlement } },
        el("th", { scope: "row" }, tick.provider), el("td", {}, `${tick.currency} ${tick.settlement}`),
        el("td", { class: "num bid" }), el("td", { class: "num ask" }), el("td", {}, el("time")), el("td", { class: "state" }));
      row = { tr, tick: null, arrivedAt: 0, state: $(".state", tr) };
      rows.set(key, row);
      replace(body, [...rows.keys()].sort().map((k) => rows.get(k).tr));
      empty.hidden = true;
    }
    const before = row.tick;
    side($(".bid", row.tr), tick.bid, before ? before.bid : undefined);
    side($(".ask", row.tr), tick.ask, before ? before.ask : undefined);
    const time = $("time", row.tr);
    time.dateTime = tick.receivedAt;
    time.textContent = dateTime(tick.receivedAt);
    row.tick = tick;
    row.arrivedAt = arrivedAt;
    row.tr.dataset.updated = new Date(arrivedAt).toISOString();
    markStale(row);
  }

  async function load() {
    try {
      const view = await api.get("/v1/admin/lp-feed");
      const now = Date.now();
      for (const [provider, state] of Object.entries(view.providers)) {
        for (const item of state.prices) {
          const tick = { provider, ...item };
          const known = rows.get(rowKey(tick));
          const arrivedAt = now - Math.round(item.ageSeconds * 1000);
          // A tick that came in while the feed was read is newer than the feed's answer.
          if (!known || known.arrivedAt < arrivedAt) upsert(tick, arrivedAt);
        }
      }
      replace(error);
    } catch (problem) {
      replace(error, problemMessage(problem));
    }
  }

  load();
  feed.on(["lp.tick"], (message) => upsert(message.data, Date.now()), load);
  const timer = setInterval(() => rows.forEach(markStale), 1000);
  return () => clearInterval(timer);
}
