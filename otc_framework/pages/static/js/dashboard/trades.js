// The client's own trades, newest first, 20 a page; "Older trades" appends the next page.
// A re-read (after a trade, after the stream reconnects) fetches the first page again and
// keeps the older pages already shown, so the list does not jump back to 20 rows.

import { $, el, replace } from "../dom.js";
import { amount, brl, date, dateTime, price } from "../money.js";
import { problemMessage } from "../problems.js";

const PAGE = 20;

export function mountTrades(root, api, { onItems }) {
  const body = $("#trades-body", root);
  const empty = $("#trades-empty", root);
  const error = $("#trades-error", root);
  const older = $("#trades-older", root);
  const listeners = new AbortController();
  let items = [];
  let cursor = null;
  let pagesShown = 0;
  let latest = 0; // the newest request's number: an older answer arriving late is dropped
  let fresh = null;

  function row(item) {
    return el("tr", { dataset: { closingId: item.closingId }, class: item.closingId === fresh ? "fresh" : undefined },
      el("td", {}, dateTime(item.createdAt)),
      el("td", {}, el("code", {}, item.closingId), item.closingId === fresh ? el("span", { class: "badge new" }, "new") : null),
      el("td", {}, item.side),
      el("td", {}, item.currency),
      el("td", {}, item.settlement),
      el("td", { class: "num" }, amount(item.amount)),
      el("td", { class: "num" }, price(item.price)),
      el("td", { class: "num" }, brl(item.totalBrl)),
      el("td", {}, el("span", { class: "badge", dataset: { status: item.status } }, item.status)),
      el("td", {}, date(item.settlementDate)),
    );
  }

  function render() {
    replace(body, items.map(row));
    empty.hidden = items.length > 0;
    older.hidden = !cursor;
  }

  async function load(query) {
    const mine = ++latest;
    error.textContent = "";
    try {
      const page = await api.get("/v1/closings", query);
      return mine === latest ? page : null;
    } catch (problem) {
      if (mine === latest) error.textContent = problemMessage(problem);
      return null;
    }
  }

  async function refresh(highlight) {
    if (highlight) fresh = highlight;
    const page = await load({ limit: PAGE });
    if (!page) return;
    if (pagesShown > 1) {
      const seen = new Set(page.items.map((item) => item.closingId));
      items = [...page.items, ...items.filter((item) => !seen.has(item.closingId))];
    } else {
      items = page.items;
      cursor = page.nextCursor;
      pagesShown = 1;
    }
    render();
    onItems(items);
  }

  async function loadOlder() {
    if (!cursor) return;
    older.disabled = true;
    const page = await load({ limit: PAGE, cursor });
    older.disabled = false;
    if (!page) return;
    const seen = new Set(items.map((item) => item.closingId));
    items = [...items, ...page.items.filter((item) => !seen.has(item.closingId))];
    cursor = page.nextCursor;
    pagesShown += 1;
    render();
    if (!older.hidden) older.focus();
  }

  older.addEventListener("click", loadOlder, { signal: listeners.signal });
  $("#trades-refresh", root).addEventListener("click", () => refresh(), { signal: listeners.signal });

  return {
    refresh,
    stop() {
      listeners.abort();
      latest += 1;
      items = [];
      cursor = null;
      pagesShown = 0;
      fresh = null;
      render();
      empty.hidden = true;
    },
  };
}
