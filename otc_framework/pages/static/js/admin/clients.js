// The clients section (SPEC §9): search and page the clients, create one, edit its tier,
// group, counterparty and bot participants, deactivate or activate it, rotate its key. A new
// key is shown once, in the box of ./clients-key.js, and is kept nowhere else.

import { el, replace } from "../dom.js";
import { dateTime } from "../money.js";
import { problemMessage } from "../problems.js";
import { keyBox } from "./clients-key.js";

const TIERS = ["T1", "T2", "T3", "T4", "T5", "T6", "T7"];
const PAGE = 20;

// "a@x, b@x\nc@x" → ["a@x", "b@x", "c@x"]
function participants(text) {
  return text.split(/[,\n]/).map((part) => part.trim()).filter(Boolean);
}

function field(id, label, input) {
  return el("div", { class: "field" }, el("label", { for: id }, label), input);
}

function tierSelect(id, value) {
  return el("select", { id }, TIERS.map((tier) => el("option", { value: tier, selected: tier === value }, tier)));
}

export function mount(section, api, feed) {
  const key = keyBox();
  let items = [];
  let cursor = null;
  let search = "";
  let editing = null;

  // --- create ---
  const name = el("input", { id: "client-name", type: "text", required: true, maxlength: 200, autocomplete: "off" });
  const tier = tierSelect("client-tier", "T3");
  const role = el("select", { id: "client-role" }, el("option", { value: "client" }, "client"), el("option", { value: "admin" }, "admin"));
  const group = el("input", { id: "client-group", type: "text", placeholder: "120363…@g.us", spellcheck: "false" });
  const counterparty = el("input", { id: "client-counterparty", type: "text", spellcheck: "false" });
  const bots = el("textarea", { id: "client-bots", rows: 1, spellcheck: "false" });
  const createError = el("p", { class: "error", role: "alert" });
  const create = el("form", { class: "row clients-new", "aria-label": "New client" },
    field("client-name", "Name", name), field("client-tier", "Tier", tier), field("client-role", "Role", role),
    field("client-group", "WhatsApp group id (optional)", group),
    field("client-counterparty", "Counterparty id (optional)", counterparty),
    field("client-bots", "Bot participants (comma or line separated)", bots),
    el("button", { type: "submit" }, "Create client"));
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(createError);
    const body = { name: name.value.trim(), tier: tier.value, role: role.value };
    if (group.value.trim()) body.groupId = group.value.trim();
    if (counterparty.value.trim()) body.counterpartyId = counterparty.value.trim();
    if (bots.value.trim()) body.botParticipants = participants(bots.value);
    try {
      const issued = await api.post("/v1/admin/clients", body);
      create.reset();
      tier.value = "T3";
      await load();
      key.show(issued.name, issued.apiKey);
    } catch (problem) {
      replace(createError, problemMessage(problem));
    }
  });

  // --- search and list ---
  const searchBox = el("input", { id: "client-search", type: "search", autocomplete: "off" });
  const searchForm = el("form", { class: "row", role: "search" },
    field("client-search", "Search clients by name", searchBox), el("button", { type: "submit", class: "quiet" }, "Search"));
  searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    search = searchBox.value.trim();
    key.hide();
    load();
  });
  const body = el("tbody");
  const listError = el("p", { class: "error", role: "alert" });
  const more = el("button", { type: "button", class: "quiet", hidden: true, onclick: () => { key.hide(); load({ append: true }); } }, "More");
  const table = el("div", { class: "scroll" }, el("table", { class: "clients" },
    el("thead", {}, el("tr", {}, ["Name", "Tier", "Role", "Status", "Group", "Counterparty", "Bot participants", "Key", ""]
      .map((title) => el("th", { scope: "col" }, title)))),
    body));

  async function load({ append = false } = {}) {
    try {
      const page = await api.get("/v1/admin/clients", { search, limit: PAGE, cursor: append ? cursor : undefined });
      items = append ? items.concat(page.items) : page.items;
      cursor = page.nextCursor;
      replace(listError);
      render();
    } catch (problem) {
      replace(listError, problemMessage(problem));
    }
  }

  async function act(client, path) {
    try {
      const answer = await api.post(`/v1/admin/clients/${client.id}/${path}`, path === "rotate-key" ? {} : undefined);
      await load();
      if (path === "rotate-key") key.show(answer.name, answer.apiKey);
    } catch (problem) {
      replace(listError, problemMessage(problem));
    }
  }

  function rotateButton(client) {
    // Rotating ends the old key at once: a second click confirms.
    const button = el("button", { type: "button", class: "quiet" }, "Rotate key");
    button.addEventListener("click", () => {
      if (button.dataset.armed) act(client, "rotate-key");
      else {
        button.dataset.armed = "1";
        button.textContent = "Confirm: rotate key";
        button.classList.replace("quiet", "danger");
      }
    });
    button.addEventListener("blur", () => {
      delete button.dataset.armed;
      button.textContent = "Rotate key";
      button.classList.replace("danger", "quiet");
    });
    return button;
  }

  function editRow(client) {
    const id = `edit-${client.id}`;
    const editTier = tierSelect(`${id}-tier`, client.tier);
    const editGroup = el("input", { id: `${id}-group`, type: "text", value: client.groupId || "", spellcheck: "false" });
    const editCounterparty = el("input", { id: `${id}-counterparty`, type: "text", value: client.counterpartyId || "", spellcheck: "false" });
    const editBots = el("textarea", { id: `${id}-bots`, rows: 2, spellcheck: "false" }, client.botParticipants.join("\n"));
    const error = el("p", { class: "error", role: "alert" });
    const form = el("form", { class: "row", "aria-label": `Edit ${client.name}` },
      field(`${id}-tier`, "Tier", editTier), field(`${id}-group`, "WhatsApp group id", editGroup),
      field(`${id}-counterparty`, "Counterparty id", editCounterparty),
      field(`${id}-bots`, "Bot participants (comma or line separated)", editBots),
      el("button", { type: "submit" }, "Save"),
      el("button", { type: "button", class: "quiet", onclick: () => { editing = null; render(); } }, "Cancel"), error);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const patch = {};
      if (editTier.value !== client.tier) patch.tier = editTier.value;
      const groupId = editGroup.value.trim() || null;
      if (groupId !== client.groupId) patch.groupId = groupId;
      const counterpartyId = editCounterparty.value.trim() || null;
      if (counterpartyId !== client.counterpartyId) patch.counterpartyId = counterpartyId;
      const botParticipants = participants(editBots.value);
      if (botParticipants.join("\n") !== client.botParticipants.join("\n")) patch.botParticipants = botParticipants;
      if (!Object.keys(patch).length) {
        replace(error, "Nothing changed.");
        return;
      }
      try {
        await api.patch(`/v1/admin/clients/${client.id}`, patch);
        editing = null;
        await load();
      } catch (problem) {
        replace(error, problemMessage(problem));
      }
    });
    return el("tr", { class: "client-edit" }, el("td", { colspan: 9 }, form));
  }

  function row(client) {
    const status = client.active ? el("span", { class: "badge" }, "active") : el("span", { class: "badge muted" }, "inactive");
    return el("tr", { dataset: { id: client.id }, class: client.active ? "" : "inactive" },
      el("th", { scope: "row" }, client.name),
      el("td", {}, client.tier), el("td", {}, client.role), el("td", {}, status),
      el("td", { class: "mono" }, client.groupId || "—"), el("td", {}, client.counterpartyId || "—"),
      el("td", { class: "mono" }, client.botParticipants.length ? client.botParticipants.join(", ") : "anyone"),
      el("td", {}, el("code", {}, client.keyFingerprint), el("br"), el("span", { class: "muted" }, dateTime(client.keyRotatedAt))),
      el("td", { class: "actions" },
        el("button", { type: "button", class: "quiet", "aria-expanded": String(editing === client.id),
          onclick: () => { editing = editing === client.id ? null : client.id; render(); } }, "Edit"),
        el("button", { type: "button", class: "quiet", onclick: () => act(client, client.active ? "deactivate" : "activate") },
          client.active ? "Deactivate" : "Activate"),
        rotateButton(client)));
  }

  function render() {
    replace(body, items.length ? items.flatMap((client) => editing === client.id ? [row(client), editRow(client)] : [row(client)])
      : el("tr", {}, el("td", { colspan: 9, class: "muted" }, search ? "No client matches." : "No clients yet.")));
    more.hidden = !cursor;
  }

  section.append(el("h3", {}, "New client"), create, createError, key.node,
    el("h3", {}, "All clients"), searchForm, listError, table, more);
  load();
  feed.on(["client.changed"], () => { if (editing === null) load(); });
}
