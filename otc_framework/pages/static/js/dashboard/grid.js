// The tier's price grid as the stream pushes it: one message a second, each a whole grid.
// A price that moved since the last message gets an arrow and a word (never colour alone);
// a message with `unavailable` blanks the grid (the stream never repeats an old price);
// no message for STALE_MS greys it out and says so, since the socket may be reconnecting.

import { $, $$, el } from "../dom.js";
import { compare, dateTime, price } from "../money.js";

const STALE_MS = 3500;
const STATES = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", closed: "Disconnected" };

export function mountGrid(root) {
  const table = $("#grid", root);
  const at = $("#grid-at", root);
  const market = $("#market", root);
  const noRate = $("#no-rate", root);
  const staleBadge = $("#grid-stale", root);
  const state = $("#stream-state", root);
  let last = new Map();
  let receivedAt = 0;
  let marketKey = "";

  function cell(currency, settlement) {
    return $(`td[data-cell="${currency}-${settlement}"]`, table);
  }

  function showMarket(message) {
    // Rewritten only when it changes: the line is a polite live region.
    const key = `${message.marketOpen}|${message.nextOpen}`;
    if (key === marketKey) return;
    marketKey = key;
    market.dataset.open = String(message.marketOpen);
    if (message.marketOpen) market.textContent = "● Market open";
    else if (message.nextOpen) market.textContent = `○ Market closed: opens ${dateTime(message.nextOpen, { seconds: false })}`;
    else market.textContent = "○ Market closed";
  }

  function showPrices(prices) {
    const next = new Map();
    for (const td of $$("td[data-cell]", table)) {
      td.replaceChildren(el("span", { class: "price" }, "—"));
      delete td.dataset.move;
    }
    for (const item of prices) {
      const key = `${item.currency}-${item.settlement}`;
      next.set(key, item.price);
      const td = cell(item.currency, item.settlement);
      if (!td) continue;
      const before = last.get(key);
      const move = before === undefined ? 0 : compare(item.price, before);
      td.firstChild.textContent = price(item.price);
      if (move !== 0) {
        const up = move > 0;
        td.dataset.move = up ? "up" : "down";
        td.append(
          el("span", { class: `move ${up ? "up" : "down"}`, "aria-hidden": "true" }, up ? " ▲" : " ▼"),
          el("span", { class: "visually-hidden" }, up ? " up" : " down"),
        );
      }
    }
    last = next;
  }

  function onMessage(message) {
    if (message.type !== "prices") return;
    receivedAt = Date.now();
    table.dataset.at = message.at;
    at.dateTime = message.at;
    at.textContent = dateTime(message.at);
    showMarket(message);
    const unavailable = Boolean(message.unavailable);
    noRate.hidden = !unavailable;
    table.classList.toggle("unavailable", unavailable);
    showPrices(unavailable ? [] : message.prices);
    checkStale();
  }

  function checkStale() {
    const stale = receivedAt > 0 && Date.now() - receivedAt > STALE_MS;
    table.classList.toggle("stale", stale);
    staleBadge.hidden = !stale;
  }

  function onState(name) {
    state.dataset.state = name;
    state.textContent = STATES[name] || name;
  }

  const timer = setInterval(checkStale, 1000);
  return {
    onMessage,
    onState,
    stop() {
      clearInterval(timer);
      last = new Map();
      receivedAt = 0;
      marketKey = "";
      showPrices([]);
      checkStale();
    },
  };
}
