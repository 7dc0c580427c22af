// The bot's sessions (SPEC §12): GET /v1/admin/bot/sessions, then each `bot.session` upserts
// its group's session (state, quotes sent, the trade a /fecha made, how it ended); each
// `bot.refused` (a message from someone the bot does not take orders from) is listed under
// them, the newest few. A reconnect re-reads the sessions.

import { el, replace } from "../dom.js";
import { amount, dateTime, price } from "../money.js";
import { problemMessage } from "../problems.js";
import { badge } from "./common.js";

const REFUSALS = 5;

function outcome(session) {
  if (session.trade) {
    const trade = session.trade;
    return `traded ${amount(trade.amount)} at ${price(trade.price)} (quote ${trade.quoteN}, by ${trade.closedBy})`;
  }
  if (session.ended) return `ended: ${session.ended}${session.endDetail ? ` (${session.endDetail})` : ""}`;
  return session.dueAt ? `next step ${dateTime(session.dueAt)}` : "";
}

function row(session) {
  const last = session.quotes.length ? session.quotes[session.quotes.length - 1] : null;
  return el("tr", { dataset: { sessionId: session.id, state: session.state } },
    el("td", {}, `${session.channel} `, el("code", {}, session.chatId)),
    el("td", {}, session.testMode ? "test mode (no client)" : session.clientName || session.clientId || "—"),
    el("td", {}, `${session.currency} ${session.settlement}`, session.volume ? ` · ${amount(session.volume)}` : ""),
    el("td", {}, badge(session.state, session.state.replace("_", " "))),
    el("td", { class: "num" }, last ? `${session.quotes.length} · last ${price(last.price)}` : "0"),
    el("td", {}, el("time", { datetime: session.startedAt }, dateTime(session.startedAt)), ` by ${session.startedBy}`),
    el("td", {}, outcome(session)));
}

export function mount(node, api, feed) {
  let items = [];
  const refusals = [];
  const body = el("tbody");
  const empty = el("p", { class: "muted" }, "No bot session now.");
  const refused = el("ul", { class: "refusals", "aria-label": "Refused messages" });
  const error = el("p", { class: "error", role: "alert" });
  replace(node, el("div", { class: "scroll" }, el("table", { id: "bot-table" },
    el("thead", {}, el("tr", {}, ["Group", "Client", "Trade", "State", "Quotes", "Started", "Outcome"]
      .map((title) => el("th", { scope: "col", class: title === "Quotes" ? "num" : undefined }, title)))),
    body)), empty, refused, error);

  function render() {
    replace(body, items.map(row));
    empty.hidden = items.length > 0;
  }

  function upsert(session) {
    const at = items.findIndex((s) => s.id === session.id);
    if (at >= 0) items[at] = session;
    else items.unshift(session);
    render();
  }

  function refusal(message) {
    const data = message.data;
    refusals.unshift(el("li", {}, el("time", { datetime: message.at }, dateTime(message.at)),
      ` refused ${data.command || "a command"} from ${data.participant} in ${data.channel} ${data.chatId}`,
      data.clientName ? ` (${data.clientName})` : ""));
    refusals.length = Math.min(refusals.length, REFUSALS);
    replace(refused, refusals);
  }

  async function load() {
    try {
      items = (await api.get("/v1/admin/bot/sessions")).items;
      render();
      replace(error);
    } catch (problem) {
      replace(error, problemMessage(problem));
    }
  }

  load();
  feed.on(["bot.session"], (message) => upsert(message.data), load);
  feed.on(["bot.refused"], refusal, () => {});
}
