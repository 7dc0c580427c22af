// The audit log (SPEC §12): every row, newest first, filtered by action, actor, source, OID,
// closing, session and dates, paged. New rows are not streamed: the first page is read again
// when a trade event arrives (each one wrote rows) or on Refresh.

import { el, replace } from "../dom.js";
import { problemMessage } from "../problems.js";
import { auditRows, auditTable } from "./audit-table.js";

const PAGE = 50;
const SOURCES = ["API", "Bot", "Admin", "System"];
const TEXT_FILTERS = [["action", "Action", "closing.advance"], ["actor", "Actor", ""], ["oid", "OID", ""],
  ["closingId", "Closing id", ""], ["sessionId", "Quote session id", ""]];

function field(id, label, input) {
  return el("div", { class: "field" }, el("label", { for: id }, label), input);
}

export function mount(section, api, feed) {
  let items = [];
  let cursor = null;
  let filters = {};

  const inputs = Object.fromEntries(TEXT_FILTERS.map(([name, , hint]) =>
    [name, el("input", { id: `audit-${name}`, type: "text", spellcheck: "false", autocomplete: "off", placeholder: hint || undefined })]));
  const source = el("select", { id: "audit-source" }, el("option", { value: "" }, "any"), SOURCES.map((s) => el("option", { value: s }, s)));
  const since = el("input", { id: "audit-since", type: "date" });
  const until = el("input", { id: "audit-until", type: "date" });
  const form = el("form", { class: "row", role: "search", "aria-label": "Filter the audit log" },
    TEXT_FILTERS.map(([name, label]) => field(`audit-${name}`, label, inputs[name])),
    field("audit-source", "Source", source), field("audit-since", "From (São Paulo date)", since),
    field("audit-until", "Before", until), el("button", { type: "submit" }, "Filter"),
    el("button", { type: "button", class: "quiet", onclick: () => load() }, "Refresh"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    filters = Object.fromEntries(Object.entries(inputs).map(([name, input]) => [name, input.value.trim()]));
    Object.assign(filters, { source: source.value, since: since.value, until: until.value });
    load();
  });

  const error = el("p", { class: "error", role: "alert" });
  const body = el("tbody");
  const more = el("button", { type: "button", class: "quiet", hidden: true, onclick: () => load({ append: true }) }, "More");

  async function load({ append = false } = {}) {
    try {
      const page = await api.get("/v1/admin/audit-logs", { ...filters, limit: PAGE, cursor: append ? cursor : undefined });
      items = append ? items.concat(page.items) : page.items;
      cursor = page.nextCursor;
      replace(error);
      replace(body, items.length ? auditRows(items)
        : el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No audit rows match.")));
      more.hidden = !cursor;
    } catch (problem) {
      replace(error, problemMessage(problem));
    }
  }

  // Re-reading the first page would drop the older pages the admin opened: only then, not.
  const refreshFirstPage = () => { if (items.length <= PAGE) load(); };
  section.append(form, error, auditTable(body), more);
  load();
  feed.on(["closing.created", "closing.status_changed", "closing.sent_to_desk", "client.changed", "control.changed"],
    refreshFirstPage);
}
