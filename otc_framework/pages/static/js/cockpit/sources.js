// Spot sources and the LPs' circuit breakers (SPEC §5, §10), from GET /health/ready read every
// POLL_MS: each spot source's age and error, each LP's feed freshness and its breaker (open
// or closed, failures counted, open until when). Health is not on the socket, so it is polled;
// a 503 (the desk not ready) still carries these members and is shown with a notice.

import { el, replace } from "../dom.js";
import { dateTime } from "../money.js";
import { problemMessage } from "../problems.js";
import { badge, seconds } from "./common.js";

const POLL_MS = 2000;

function table(id, caption, headings, rows) {
  return el("div", { class: "scroll" }, el("table", { id, class: "health" },
    el("caption", { class: "muted" }, caption),
    el("thead", {}, el("tr", {}, headings.map((title) => el("th", { scope: "col" }, title)))),
    el("tbody", {}, rows)));
}

function spotRow(name, source) {
  const instruments = Object.entries(source.instruments || {}).map(([instrument, age]) => `${instrument} ${seconds(age)}`);
  return el("tr", { dataset: { source: name }, class: source.fresh ? undefined : "not-fresh" },
    el("th", { scope: "row" }, name),
    el("td", {}, badge(source.fresh ? "fresh" : "old", source.fresh ? "fresh" : "not fresh")),
    el("td", { class: "num age" }, seconds(source.ageSeconds)),
    el("td", {}, instruments.join(" · ") || "—"),
    el("td", { class: "error-text" }, source.lastError || ""));
}

function breakerText(breaker) {
  if (!breaker) return badge("unknown", "unknown");
  if (!breaker.open) return badge("closed", "closed");
  const until = breaker.openUntil ? ` until ${dateTime(new Date(breaker.openUntil * 1000).toISOString())}` : "";
  return badge("open", `open${until}`);
}

function lpRow(name, lp) {
  const breaker = lp.breaker;
  return el("tr", { dataset: { provider: name, breaker: breaker ? String(breaker.open) : "unknown" } },
    el("th", { scope: "row" }, name),
    el("td", {}, badge(lp.fresh ? "fresh" : "old", lp.fresh ? "fresh" : "not fresh")),
    el("td", { class: "num age" }, seconds(lp.ageSeconds)),
    el("td", {}, breakerText(breaker)),
    el("td", { class: "num" }, breaker ? String(breaker.failures) : "—"),
    el("td", { class: "error-text" }, [lp.lastError, breaker && breaker.lastError].filter(Boolean).join(" · ")));
}

export function mount(node, api) {
  const spot = el("div");
  const lps = el("div");
  const updated = el("p", { class: "muted updated" }, "Read ", el("time", {}, "—"));
  const notice = el("p", { class: "notice", role: "alert", hidden: true });
  const error = el("p", { class: "error", role: "alert" });
  replace(node, notice, el("h3", {}, "Spot sources"), spot, el("h3", {}, "LP feeds and circuit breakers"), lps, updated, error);
  let timer = null;
  let stopped = false;

  function show(report) {
    replace(spot, table("spot-table", "Age of each source's newest rate.",
      ["Source", "State", "Age", "Instruments", "Last error"],
      Object.entries(report.spot || {}).map(([name, source]) => spotRow(name, source))));
    replace(lps, table("breaker-table", "A breaker open skips its LP when hedging until it closes.",
      ["LP", "Feed", "Age", "Breaker", "Failures", "Last error"],
      Object.entries(report.lp || {}).map(([name, lp]) => lpRow(name, lp))));
    const at = new Date().toISOString();
    const time = updated.querySelector("time");
    time.dateTime = at;
    time.textContent = dateTime(at);
  }

  async function poll() {
    try {
      const report = await api.get("/health/ready");
      notice.hidden = true;
      show(report);
      replace(error);
    } catch (problem) {
      if (problem.status === 503 && problem.body && problem.body.spot) {
        notice.hidden = false;
        replace(notice, "The desk reports it is not ready (database or store unreachable).");
        show(problem.body);
        replace(error);
      } else {
        replace(error, problemMessage(problem));
      }
    } finally {
      if (!stopped) timer = setTimeout(poll, POLL_MS);
    }
  }

  poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
