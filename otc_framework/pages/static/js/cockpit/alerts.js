// The latest alerts (SPEC §13): the newest LIMIT from GET /v1/admin/alerts, each with its
// severity as a word and its delivery per sink; an `alert.raised` goes on top (the list keeps
// LIMIT). A reconnect re-reads them, so one raised meanwhile shows too.

import { el, replace } from "../dom.js";
import { dateTime } from "../money.js";
import { problemMessage } from "../problems.js";
import { badge } from "./common.js";

const LIMIT = 10;

function item(alert) {
  const deliveries = alert.deliveries.map((d) => `${d.sink}: ${d.status}`).join(" · ");
  return el("li", { class: "alert-item", dataset: { alertId: String(alert.id), severity: alert.severity } },
    el("div", { class: "alert-line" }, badge(alert.severity),
      el("strong", { class: "alert-title" }, alert.title),
      el("time", { class: "muted", datetime: alert.createdAt }, dateTime(alert.createdAt))),
    alert.detail ? el("p", { class: "alert-detail" }, alert.detail) : null,
    el("p", { class: "muted alert-meta" }, `${alert.kind}${deliveries ? ` · ${deliveries}` : ""}`));
}

export function mount(node, api, feed) {
  let items = [];
  const list = el("ol", { class: "alert-list", id: "alert-list", "aria-label": "Latest alerts, newest first" });
  const empty = el("p", { class: "muted" }, "No alert yet.");
  const error = el("p", { class: "error", role: "alert" });
  replace(node, list, empty, error);

  function render() {
    replace(list, items.map(item));
    empty.hidden = items.length > 0;
  }

  async function load() {
    try {
      items = (await api.get("/v1/admin/alerts", { limit: LIMIT })).items;
      render();
      replace(error);
    } catch (problem) {
      replace(error, problemMessage(problem));
    }
  }

  load();
  feed.on(["alert.raised"], (message) => {
    items = [message.data, ...items.filter((a) => a.id !== message.data.id)].slice(0, LIMIT);
    render();
  }, load);
}
