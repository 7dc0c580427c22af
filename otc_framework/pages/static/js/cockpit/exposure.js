// The desk's exposure (SPEC §10): open notional of the hedges not filled yet, by currency,
// against risk_max_open_exposure, and today's spread capture. GET /v1/admin/exposure, read
// again after each hedge.changed or closing.created (one read at a time) and a reconnect.

import { el, replace } from "../dom.js";
import { amount, bps, brl, compare, dateTime } from "../money.js";
import { problemMessage } from "../problems.js";
import { serialized } from "./common.js";

function fact(term, value, key) {
  return [el("dt", {}, term), el("dd", { class: "num", dataset: { fact: key } }, value)];
}

export function mount(node, api, feed) {
  const facts = el("dl", { class: "facts exposure", id: "exposure-facts" });
  const over = el("p", { class: "notice", role: "alert", hidden: true },
    "Open exposure is above its limit: quotes answer QUOTING_DISABLED until hedges fill.");
  const at = el("p", { class: "muted updated" });
  const error = el("p", { class: "error", role: "alert" });
  replace(node, over, facts, at, error);

  function show(view) {
    const limited = compare(view.limit, "0") !== 0;
    const capture = view.spreadCaptureToday;
    replace(facts,
      fact("Open total", amount(view.openTotal), "open-total"),
      Object.entries(view.openByCurrency).flatMap(([currency, value]) => fact(`Open ${currency}`, amount(value), `open-${currency}`)),
      fact("Limit", limited ? amount(view.limit) : "none (0)", "limit"),
      fact("Hedges filled today", String(capture.hedges), "filled-today"),
      fact("Filled amount today", amount(capture.amount), "filled-amount"),
      fact("Average spread capture", capture.avgBps === null ? "—" : bps(capture.avgBps), "avg-bps"),
      fact("Captured today", brl(capture.capturedBrl), "captured"));
    over.hidden = !(limited && compare(view.openTotal, view.limit) > 0);
    replace(at, "Computed ", el("time", { datetime: view.computedAt }, dateTime(view.computedAt)));
  }

  const load = serialized(async () => {
    try {
      show(await api.get("/v1/admin/exposure"));
      replace(error);
    } catch (problem) {
      replace(error, problemMessage(problem));
    }
  });

  load();
  feed.on(["hedge.changed", "closing.created"], () => load());
}
