// Audit rows (SPEC §12), shown alike in a closing's trail and in the audit log.

import { el } from "../dom.js";
import { dateTime } from "../money.js";

const SHORT = 90;

// A long detail (a quote's whole snapshot) folds behind its first characters.
function detail(value) {
  const text = JSON.stringify(value);
  if (text.length <= SHORT) return text;
  return el("details", {}, el("summary", {}, `${text.slice(0, SHORT)}…`), el("code", {}, text));
}

export function auditRows(entries) {
  return entries.map((entry) => el("tr", {},
    el("td", { class: "mono" }, dateTime(entry.createdAt)), el("td", {}, entry.action), el("td", {}, entry.actor),
    el("td", {}, entry.source), el("td", { class: "mono" }, entry.oid || entry.sessionId || "—"),
    el("td", { class: "mono detail" }, detail(entry.detail))));
}

export function auditTable(tbody) {
  return el("div", { class: "scroll" }, el("table", { class: "audit" },
    el("thead", {}, el("tr", {}, ["When", "Action", "Actor", "Source", "OID or session", "Detail"]
      .map((title) => el("th", { scope: "col" }, title)))),
    tbody));
}
