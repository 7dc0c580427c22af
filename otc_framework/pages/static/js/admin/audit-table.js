// Audit rows (SPEC §12), shown alike in a closing's trail and in the audit log.

import { el } from "../dom.js";
import { dateTime } from "../money.js";

export function auditRows(entries) {
  return entries.map((entry) => el("tr", {},
    el("td", { class: "mono" }, dateTime(entry.createdAt)), el("td", {}, entry.action), el("td", {}, entry.actor),
    el("td", {}, entry.source), el("td", { class: "mono" }, entry.oid || entry.sessionId || "—"),
    el("td", { class: "mono detail" }, JSON.stringify(entry.detail))));
}

export function auditTable(tbody) {
  return el("div", { class: "scroll" }, el("table", { class: "audit" },
    el("thead", {}, el("tr", {}, ["When", "Action", "Actor", "Source", "OID or session", "Detail"]
      .map((title) => el("th", { scope: "col" }, title)))),
    tbody));
}
