// The quote form and the locked quote: ask (POST /v1/sessions), count down, confirm once.
//
// The countdown runs on the server's clock: `expiresAt` is the server's instant, so the
// deadline here is expiresAt minus the server-minus-local offset measured on the latest price
// message, frozen when the quote arrives (a later tick must not move a running countdown).
//
// Confirm sends exactly one close per click that gets through the guard: `closing` is set
// before the request leaves, and the button is disabled with it. The OID is made once per
// quote, so a retry after a failure that may have reached the desk (the network, a 5xx)
// repeats it and the desk answers the first closing instead of making a second one. Such a
// retry stays allowed after expiry for that reason: it can only return the trade already
// made or SESSION_EXPIRED.

import { $ } from "../dom.js";
import { amount as formatAmount, brl, date, parseAmount, price } from "../money.js";
import { problemMessage } from "../problems.js";

const TICK_MS = 200;

function orderId() {
  // randomUUID needs a secure context; getRandomValues does not (a desk served over plain http).
  if (crypto.randomUUID) return `web-${crypto.randomUUID()}`;
  return `web-${[...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export function mountQuote(root, api, { serverOffset, onTraded, announce }) {
  const form = $("#quote-form", root);
  const input = $("#q-amount", root);
  const amountError = $("#q-amount-error", root);
  const formError = $("#quote-error", root);
  const ask = $("#q-ask", root);
  const locked = $("#locked", root);
  const countdown = $("#countdown", root);
  const note = $("#quote-note", root);
  const confirm = $("#confirm", root);
  const closeError = $("#close-error", root);
  const trade = $("#trade", root);
  const listeners = new AbortController();
  let quote = null; // {session, oid, deadline, expired, closing, ambiguous, done}
  let asking = false;
  let timer = null;

  function setAmountError(text) {
    amountError.textContent = text;
    if (text) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }

  function update() {
    const q = quote;
    ask.disabled = asking || Boolean(q && q.closing);
    if (!q) return;
    confirm.disabled = q.done || q.closing || (q.expired && !q.ambiguous);
    confirm.textContent = q.closing ? "Confirming…" : q.ambiguous ? "Retry confirm" : "Confirm trade";
    locked.dataset.state = q.done ? "done" : q.expired ? "expired" : "live";
  }

  function tick() {
    const q = quote;
    if (!q || q.done) return;
    const left = q.deadline - Date.now();
    countdown.textContent = `${Math.max(0, Math.ceil(left / 1000))} s`;
    if (left > 0 || q.expired) return;
    q.expired = true;
    clearInterval(timer);
    note.textContent = "Expired, ask for a new quote.";
    update();
  }

  function show(session) {
    clearInterval(timer);
    const deadline = Date.parse(session.expiresAt) - serverOffset();
    quote = { session, oid: orderId(), deadline, expired: false, closing: false, ambiguous: false, done: false };
    $("#locked-what", root).textContent =
      `Buy ${formatAmount(session.amount)} ${session.currency} · settlement ${session.settlement}`;
    $("#locked-price", root).textContent = price(session.price);
    $("#locked-total", root).textContent = brl(session.totalBrl);
    closeError.textContent = "";
    trade.hidden = true;
    locked.hidden = false;
    const seconds = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    note.textContent = `Price locked for ${seconds} seconds: confirm before the time runs out.`;
    update();
    tick();
    timer = setInterval(tick, TICK_MS);
  }

  function finish(closing) {
    const q = quote;
    q.done = true;
    q.closing = false;
    clearInterval(timer);
    locked.hidden = true;
    $("#trade-id", root).textContent = closing.closingId;
    $("#trade-price", root).textContent = price(closing.price);
    $("#trade-total", root).textContent = brl(closing.totalBrl);
    $("#trade-date", root).textContent = date(closing.settlementDate);
    trade.hidden = false;
    update();
    announce(`Trade recorded: ${formatAmount(closing.amount)} ${closing.currency} at ${price(closing.price)}, `
      + `total ${brl(closing.totalBrl)} (closing ${closing.closingId}).`);
    onTraded(closing);
  }

  async function askQuote(event) {
    event.preventDefault();
    if (asking || (quote && quote.closing)) return;
    formError.textContent = "";
    let amount;
    try {
      amount = parseAmount(input.value);
    } catch (error) {
      setAmountError(`${error.message}.`);
      input.focus();
      return;
    }
    setAmountError("");
    const body = { currency: form.elements.currency.value, settlement: form.elements.settlement.value, amount };
    // Standard validity leaves the field out, so the desk's own default applies.
    if (form.elements.validity.value) body.validitySeconds = Number.parseInt(form.elements.validity.value, 10);
    asking = true;
    update();
    try {
      show(await api.post("/v1/sessions", body));
    } catch (problem) {
      const field = problem.body && problem.body.field;
      if (problem.code === "VALIDATION_ERROR" && (!field || field === "amount")) {
        setAmountError(problemMessage(problem));
        input.focus();
      } else {
        formError.textContent = problemMessage(problem);
      }
    } finally {
      asking = false;
      update();
    }
  }

  async function confirmQuote() {
    const q = quote;
    if (!q || q.closing || q.done || (q.expired && !q.ambiguous)) return;
    q.closing = true;
    update();
    closeError.textContent = "";
    try {
      const closing = await api.post(`/v1/sessions/${q.session.sessionId}/close`, { oid: q.oid });
      if (quote === q) finish(closing);
    } catch (problem) {
      q.closing = false;
      if (problem.code === "SESSION_EXPIRED") {
        q.expired = true;
        q.ambiguous = false;
        clearInterval(timer);
        countdown.textContent = "0 s";
        note.textContent = "Expired, ask for a new quote.";
      } else if (problem.code === "SESSION_ALREADY_CLOSED") {
        q.done = true;
        onTraded(null);
      } else {
        q.ambiguous = problem.status === 0 || problem.status >= 500;
      }
      closeError.textContent = problemMessage(problem)
        + (q.ambiguous ? " Retry sends the same order id: the desk never records it twice." : "");
      update();
    }
  }

  // The trade list may show our OID before the close's answer does (an answer lost to the
  // network, then the list re-read after reconnecting): that settles the quote.
  function settleFrom(items) {
    const q = quote;
    if (!q || q.done || q.closing) return;
    const made = items.find((item) => item.oid === q.oid);
    if (made) finish(made);
  }

  form.addEventListener("submit", askQuote, { signal: listeners.signal });
  confirm.addEventListener("click", confirmQuote, { signal: listeners.signal });
  input.addEventListener("input", () => setAmountError(""), { signal: listeners.signal });

  return {
    settleFrom,
    stop() {
      listeners.abort();
      clearInterval(timer);
      quote = null;
      locked.hidden = true;
      trade.hidden = true;
      formError.textContent = "";
      setAmountError("");
      ask.disabled = false;
    },
  };
}
