// The closings section (SPEC §9): the trades, newest first, filtered by status, client,
// currency, settlement and dates, paged; each row's lifecycle buttons (./closings-actions.js)
// and its detail (./closings-detail.js). New trades and other operators' steps arrive on the
// admin socket; after a conflict or a reconnect the closing or the list is read again.

import { el, replace } from "../dom.js";
import { amount, brl, dateTime, price, saoPauloDay } from "../money.js";
import { problemMessage } from "../problems.js";
import { actionButtons } from "./closings-actions.js";
import { detailDialog } from "./closings-detail.js";

const PAGE = 25;
const STATUSES = ["pending", "funded", "paid", "settled", "cancelled"];
const CURRENCIES = ["USDT", "USDC"];
const SETTLEMENTS = ["D0", "D1", "D2"];
// A conflict means the page showed an old status: the answer is the news, so it is re-read.
const STALE = new Set(["STATUS_CONFLICT", "ILLEGAL_TRANSITION", "NOT_FOUND"]);

function field(id, label, input) {
  return el("div", { class: "field" }, el("label", { for: id }, label), input);
}

function choice(id, values, anyLabel) {
  return el("select", { id }, el("option", { value: "" }, anyLabel), values.map((v) => el("option", { value: v }, v)));
}

export function mount(section, api, feed) {
  let items = [];
  let cursor = null;
  let filters = {};
  const busy = new Set();
  const dialog = detailDialog();

  const status = choice("closing-status", STATUSES, "any status");
  const currency = choice("closing-currency", CURRENCIES, "any");
  const settlement = choice("closing-settlement", SETTLEMENTS, "any");
  const client = el("select", { id: "closing-client" }, el("option", { value: "" }, "any client"));
  const since = el("input", { id: "closing-since", type: "date" });
  const until = el("input", { id: "closing-until", type: "date" });
  const form = el("form", { class: "row", role: "search", "aria-label": "Filter closings" },
    field("closing-status", "Status", status), field("closing-client", "Client", client),
    field("closing-currency", "Currency", currency), field("closing-settlement", "Settlement", settlement),
    field("closing-since", "From (São Paulo date)", since), field("closing-until", "Before", until),
    el("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    filters = { status: status.value, clientId: client.value, currency: currency.value, settlement: settlement.value,
      since: since.value, until: until.value };
    load();
  });

  const alert = el("p", { class: "error", role: "alert", id: "closing-problem" });
  const notice = el("p", { class: "muted", "aria-live": "polite" });
  const body = el("tbody");
  const more = el("button", { type: "button", class: "quiet", hidden: true, onclick: () => load({ append: true }) }, "More");
  const table = el("div", { class: "scroll" }, el("table", { class: "closings" },
    el("thead", {}, el("tr", {}, ["Confirmed", "Client", "Trade", "Price", "Total", "Status", "Actions"]
      .map((title) => el("th", { scope: "col", class: ["Price", "Total"].includes(title) ? "num" : undefined }, title)))),
    body));

  function matches(closing) {
    const day = saoPauloDay(closing.createdAt);
    return (!filters.status || closing.status === filters.status) && (!filters.clientId || closing.clientId === filters.clientId)
      && (!filters.currency || closing.currency === filters.currency)
      && (!filters.settlement || closing.settlement === filters.settlement)
      && (!filters.since || day >= filters.since) && (!filters.until || day < filters.until);
  }

  async function load({ append = false } = {}) {
    try {
      const page = await api.get("/v1/admin/closings", { ...filters, limit: PAGE, cursor: append ? cursor : undefined });
      items = append ? items.concat(page.items) : page.items;
      cursor = page.nextCursor;
      if (!append) replace(alert);
      render();
    } catch (problem) {
      replace(alert, problemMessage(problem));
    }
  }

  async function loadClients() {
    try {
      const page = await api.get("/v1/admin/clients", { limit: 200 });
      const chosen = client.value;
      replace(client, el("option", { value: "" }, "any client"),
        page.items.map((c) => el("option", { value: c.id, selected: c.id === chosen }, `${c.name} (${c.tier})`)));
    } catch (problem) {
      replace(alert, problemMessage(problem));
    }
  }

  // A closing as the server now has it, from an answer or the stream.
  function upsert(closing, { prepend = false } = {}) {
    const at = items.findIndex((c) => c.id === closing.id);
    if (at >= 0) {
      // An older event never overwrites a newer state.
      if (items[at].updatedAt > closing.updatedAt) return;
      items[at] = closing;
    } else if (prepend && matches(closing)) items.unshift(closing);
    else return;
    render();
    if (dialog.shownId === closing.id) openDetail(closing.id, { refresh: true });
  }

  async function reread(id) {
    try {
      const detail = await api.get(`/v1/admin/closings/${id}`);
      upsert(detail.closing);
    } catch (problem) {
      if (problem.code === "NOT_FOUND") await load();
    }
  }

  async function run(closing, path) {
    busy.add(closing.id);
    render();
    const report = (text) => {
      replace(alert, text);
      if (dialog.shownId === closing.id) replace(dialog.alert, text);
    };
    try {
      const answer = await api.post(`/v1/admin/closings/${closing.id}/${path}`, { from: closing.status });
      const updated = path === "send-to-desk" ? answer.closing : answer;
      replace(alert);
      replace(dialog.alert);
      replace(notice, path === "send-to-desk"
        ? `Closing ${closing.oid} was sent to the desk (${answer.desk.attempts} attempt(s)).`
        : `Closing ${closing.oid} is now ${updated.status}.`);
      busy.delete(closing.id);
      upsert(updated);
    } catch (problem) {
      report(`Closing ${closing.oid}: ${problemMessage(problem)}`);
      busy.delete(closing.id);
      if (STALE.has(problem.code)) await reread(closing.id);
      else render();
    }
  }

  const buttons = (closing) => actionButtons(closing, { busy: busy.has(closing.id), run });

  async function openDetail(id, { refresh = false } = {}) {
    try {
      const detail = await api.get(`/v1/admin/closings/${id}`);
      if (refresh) dialog.refresh(detail, buttons(detail.closing));
      else dialog.show(detail, buttons(detail.closing));
    } catch (problem) {
      replace(alert, problemMessage(problem));
    }
  }

  function row(c) {
    return el("tr", { dataset: { id: c.id, status: c.status } },
      el("td", { class: "mono" }, dateTime(c.createdAt)),
      el("td", {}, `${c.clientName} (${c.tier})`, c.source === "Bot" ? el("span", { class: "badge" }, "bot") : null),
      el("td", {}, `${c.side} ${amount(c.amount)} ${c.currency} ${c.settlement}`),
      el("td", { class: "num" }, price(c.price)), el("td", { class: "num" }, brl(c.totalBrl, { maximum: 2 })),
      el("td", {}, el("span", { class: `badge status-${c.status}` }, c.status)),
      el("td", { class: "actions" }, buttons(c),
        el("button", { type: "button", class: "quiet", onclick: () => openDetail(c.id) }, "Details")));
  }

  function render() {
    replace(body, items.length ? items.map(row)
      : el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No closings match.")));
    more.hidden = !cursor;
  }

  section.append(form, alert, notice, table, more, dialog.node);
  loadClients();
  load();
  feed.on(["closing.created"], (message) => (message ? upsert(message.data, { prepend: true }) : load()));
  // One re-read of the list after a reconnect is enough for the three subscriptions.
  feed.on(["closing.status_changed", "closing.sent_to_desk"], (message) => upsert(message.data.closing), () => {});
  feed.on(["client.changed"], loadClients, () => {});
}
