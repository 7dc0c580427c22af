// A closing's detail (SPEC §4, §9) in a dialog: every snapshot column the price was made of,
// the audit trail of the closing and its quote session, and its hedge.

import { el, replace } from "../dom.js";
import { amount, bps, brl, dateTime, price, percent, date } from "../money.js";
import { auditRows, auditTable } from "./audit-table.js";

const dash = (value, format = String) => (value === null || value === undefined ? "—" : format(value));

function columns(c) {
  return [
    ["Closing id", el("code", {}, c.id)], ["OID", el("code", {}, c.oid)], ["Quote session", el("code", {}, c.sessionId)],
    ["Client", `${c.clientName} (${c.tier})`], ["Channel", c.source], ["Side", c.side],
    ["Currency", c.currency], ["Settlement", `${c.settlement}, ${date(c.settlementDate)}`],
    ["Amount", amount(c.amount)], ["Price", price(c.price)], ["Total", brl(c.totalBrl, { maximum: 2 })],
    ["Status", c.status], ["WhatsApp group", dash(c.groupId)],
    ["Reference", `${c.referenceMode}: ${price(c.referencePrice)}`],
    ["Spot at quote", dash(c.spotAtQuote, price)], ["Binance at quote", dash(c.binanceAtQuote, price)],
    ["Tier spread used", dash(c.tierSpreadPctUsed, percent)], ["LP spread used", dash(c.lpSpreadPctUsed, percent)],
    ["Spread adjustment", percent(c.spreadAdjustmentUsed)], ["Validity adder", percent(c.validityAdderUsed)],
    ["USDT/USDC ratio", price(c.usdtUsdcRatioUsed, 6)], ["Validity", `${c.validitySeconds} s`],
    ["Quoted", dateTime(c.quotedAt)], ["Confirmed", dateTime(c.createdAt)], ["Last change", dateTime(c.updatedAt)],
  ];
}

function hedgeColumns(h) {
  return [
    ["Status", h.status + (h.reason ? ` (${h.reason})` : "")], ["Provider", dash(h.provider)], ["Attempt", h.attempt],
    ["Amount", `${amount(h.amount)} ${h.currency} ${h.settlement}`], ["Client price", price(h.clientPrice)],
    ["LP quote", dash(h.quotePrice, price)], ["Filled", amount(h.filledAmount)], ["Fill price", dash(h.fillPrice, price)],
    ["Spread capture", dash(h.spreadCaptureBps, bps)], ["Chunks", h.chunks],
    ["Client order id", dash(h.clientOrderId)], ["Venue reference", dash(h.venueReference)],
    ["Filled at", dash(h.filledAt, dateTime)],
  ];
}

function list(pairs) {
  return el("dl", { class: "facts" }, pairs.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

export function detailDialog() {
  const title = el("h3", { id: "closing-detail-title" });
  const alert = el("p", { class: "error", role: "alert" });
  const actions = el("div");
  const body = el("div");
  const close = el("button", { type: "button", class: "quiet" }, "Close");
  const dialog = el("dialog", { class: "closing-detail", "aria-labelledby": "closing-detail-title" },
    el("div", { class: "dialog-head" }, title, close), alert, actions, body);
  close.addEventListener("click", () => dialog.close());
  let shownId = null;
  dialog.addEventListener("close", () => { shownId = null; });

  return {
    node: dialog,
    alert,
    get shownId() { return shownId; },
    // `detail` is GET /v1/admin/closings/{id}'s answer; `buttons` the closing's actions.
    show(detail, buttons) {
      const c = detail.closing;
      shownId = c.id;
      replace(title, `Closing ${c.oid}: ${c.clientName}, ${amount(c.amount)} ${c.currency} at ${price(c.price)}`);
      replace(actions, buttons);
      replace(body,
        list(columns(c)),
        el("h4", {}, "Hedge"),
        detail.hedge ? list(hedgeColumns(detail.hedge)) : el("p", { class: "muted" }, "No hedge for this trade."),
        el("h4", {}, "Audit trail"),
        auditTable(el("tbody", {}, auditRows(detail.audit))));
      if (!dialog.open) {
        replace(alert);
        dialog.showModal();
      }
    },
    // A newer closing from the stream or an action: new status and buttons, same dialog.
    refresh(detail, buttons) {
      if (shownId === detail.closing.id) this.show(detail, buttons);
    },
  };
}
