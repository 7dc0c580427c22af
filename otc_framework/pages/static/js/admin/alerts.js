// The alerts section (SPEC §13): the alerts raised, newest first, with where each stands with
// every sink (queued, retrying, sent, failed, the last error), filtered by kind and severity,
// paged; "Send test alert" raises one to every sink. New alerts arrive on the admin socket;
// while a delivery is still queued or retrying the list is read again every few seconds,
// since deliveries are not streamed.

import { el, replace } from "../dom.js";
import { dateTime } from "../money.js";
import { problemMessage } from "../problems.js";

const PAGE = 20;
const SEVERITIES = ["info", "warning", "critical"];
const PENDING = new Set(["queued", "retrying"]);
const FOLLOW_MS = 3000;

function field(id, label, input) {
  return el("div", { class: "field" }, el("label", { for: id }, label), input);
}

function delivery(d) {
  const parts = [`${d.sink}: ${d.status}`];
  if (d.attempts) parts.push(`${d.attempts} attempt(s)`);
  if (d.status === "retrying" && d.nextAttemptAt) parts.push(`next ${dateTime(d.nextAttemptAt)}`);
  if (d.sentAt) parts.push(dateTime(d.sentAt));
  return el("li", { class: `delivery delivery-${d.status}`, dataset: { sink: d.sink, status: d.status } },
    parts.join(", "), d.lastError ? el("span", { class: "error" }, ` (${d.lastError})`) : null);
}

export function mount(section, api, feed) {
  let items = [];
  let cursor = null;
  let filters = {};
  let follow = null;

  const kind = el("input", { id: "alert-kind", type: "text", spellcheck: "false", placeholder: "spot.failing" });
  const severity = el("select", { id: "alert-severity" }, el("option", { value: "" }, "any"),
    SEVERITIES.map((s) => el("option", { value: s }, s)));
  const form = el("form", { class: "row", role: "search", "aria-label": "Filter alerts" },
    field("alert-kind", "Kind", kind), field("alert-severity", "Severity", severity),
    el("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    filters = { kind: kind.value.trim(), severity: severity.value };
    load();
  });

  const error = el("p", { class: "error", role: "alert" });
  const result = el("p", { class: "muted", "aria-live": "polite" });
  const test = el("button", { type: "button" }, "Send test alert");
  test.addEventListener("click", async () => {
    test.disabled = true;
    replace(error);
    try {
      const raised = await api.post("/v1/admin/alerts/test");
      replace(result, `Test alert #${raised.id} queued for ${raised.deliveries.map((d) => d.sink).join(", ") || "no sink"}.`);
      await load();
    } catch (problem) {
      replace(error, problemMessage(problem));
    } finally {
      test.disabled = false;
    }
  });

  const body = el("tbody");
  const more = el("button", { type: "button", class: "quiet", hidden: true, onclick: () => load({ append: true }) }, "More");
  const table = el("div", { class: "scroll" }, el("table", { class: "alerts" },
    el("thead", {}, el("tr", {}, ["Raised", "Severity", "Kind", "Alert", "Deliveries"].map((t) => el("th", { scope: "col" }, t)))),
    body));

  async function load({ append = false } = {}) {
    try {
      const page = await api.get("/v1/admin/alerts", { ...filters, limit: PAGE, cursor: append ? cursor : undefined });
      items = append ? items.concat(page.items) : page.items;
      cursor = page.nextCursor;
      replace(error);
      render();
    } catch (problem) {
      replace(error, problemMessage(problem));
    }
  }

  function render() {
    replace(body, items.length ? items.map((a) => el("tr", { dataset: { id: a.id, kind: a.kind } },
      el("td", { class: "mono" }, dateTime(a.createdAt)),
      el("td", {}, el("span", { class: `badge severity-${a.severity}` }, a.severity)),
      el("td", { class: "mono" }, a.kind),
      el("td", {}, el("strong", {}, a.title), el("br"), el("span", { class: "muted" }, a.detail)),
      el("td", {}, el("ul", { class: "deliveries" }, a.deliveries.map(delivery)))))
      : el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No alerts.")));
    more.hidden = !cursor;
    clearTimeout(follow);
    const waiting = items.some((a) => a.deliveries.some((d) => PENDING.has(d.status)));
    if (waiting && items.length <= PAGE) follow = setTimeout(() => load(), FOLLOW_MS);
  }

  section.append(el("div", { class: "row" }, test, result), form, error, table, more);
  load();
  feed.on(["alert.raised"], () => { if (items.length <= PAGE) load(); });
  return () => clearTimeout(follow);
}
