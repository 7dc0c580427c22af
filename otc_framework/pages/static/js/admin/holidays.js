// The holidays section (SPEC §5, §9): a year's BR and US holidays, added or removed by hand,
// and the yearly import of the official calendars (B3, Federal Reserve).

import { el, replace } from "../dom.js";
import { date } from "../money.js";
import { problemMessage } from "../problems.js";

const MARKETS = ["BR", "US"];

function field(id, label, input) {
  return el("div", { class: "field" }, el("label", { for: id }, label), input);
}

export function mount(section, api, feed) {
  const current = new Date().getFullYear();
  const year = el("select", { id: "holiday-year" },
    [current - 1, current, current + 1, current + 2].map((y) => el("option", { value: y, selected: y === current }, y)));
  const result = el("p", { class: "muted", "aria-live": "polite" });
  const error = el("p", { class: "error", role: "alert" });
  const importButton = el("button", { type: "button", class: "quiet" }, "Import official holidays");
  const body = el("tbody");

  const day = el("input", { id: "holiday-date", type: "date", required: true });
  const label = el("input", { id: "holiday-label", type: "text", required: true, maxlength: 200 });
  const market = el("select", { id: "holiday-market" }, MARKETS.map((m) => el("option", { value: m }, m)));
  const addError = el("p", { class: "error", role: "alert" });
  const add = el("form", { class: "row", "aria-label": "Add a holiday" },
    field("holiday-date", "Date", day), field("holiday-label", "Name", label), field("holiday-market", "Market", market),
    el("button", { type: "submit" }, "Add holiday"));

  async function load() {
    try {
      const { items } = await api.get("/v1/admin/holidays", { year: year.value });
      replace(body, items.length ? items.map(row)
        : el("tr", {}, el("td", { colspan: 4, class: "muted" }, `No holidays in ${year.value}: import them or add one.`)));
      replace(error);
    } catch (problem) {
      replace(error, problemMessage(problem));
    }
  }

  function row(holiday) {
    // Removing takes a second click on the same button (it asks first, then removes).
    const remove = el("button", { type: "button", class: "quiet" }, "Remove");
    const disarm = () => {
      delete remove.dataset.armed;
      remove.textContent = "Remove";
      remove.classList.replace("danger", "quiet");
    };
    remove.addEventListener("click", async () => {
      if (!remove.dataset.armed) {
        remove.dataset.armed = "1";
        remove.textContent = `Confirm: remove ${holiday.label}`;
        remove.classList.replace("quiet", "danger");
        return;
      }
      try {
        await api.delete(`/v1/admin/holidays/${holiday.id}`);
        replace(result, `Removed ${holiday.label} (${date(holiday.date)}, ${holiday.market}).`);
        await load();
      } catch (problem) {
        replace(error, problemMessage(problem));
      }
    });
    remove.addEventListener("blur", disarm);
    return el("tr", { dataset: { id: holiday.id } },
      el("td", {}, el("time", { datetime: holiday.date }, date(holiday.date))),
      el("td", {}, holiday.label), el("td", {}, holiday.market), el("td", {}, remove));
  }

  year.addEventListener("change", () => {
    replace(result);
    load();
  });
  importButton.addEventListener("click", async () => {
    importButton.disabled = true;
    try {
      const answer = await api.post("/v1/admin/holidays/import", { year: Number(year.value) });
      const added = answer.added.length;
      replace(result, `${answer.year}: ${added} holiday${added === 1 ? "" : "s"} added, ${answer.skipped} already listed.`);
      await load();
    } catch (problem) {
      replace(error, problemMessage(problem));
    } finally {
      importButton.disabled = false;
    }
  });
  add.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(addError);
    try {
      const made = await api.post("/v1/admin/holidays", { date: day.value, label: label.value.trim(), market: market.value });
      add.reset();
      replace(result, `Added ${made.label} (${date(made.date)}, ${made.market}).`);
      const madeYear = made.date.slice(0, 4);
      if ([...year.options].some((option) => option.value === madeYear)) year.value = madeYear;
      await load();
    } catch (problem) {
      replace(addError, problemMessage(problem));
    }
  });

  section.append(
    el("div", { class: "row" }, field("holiday-year", "Year", year), importButton), result, error,
    el("div", { class: "scroll" }, el("table", { class: "holidays" },
      el("thead", {}, el("tr", {}, ["Date", "Name", "Market", ""].map((t) => el("th", { scope: "col" }, t)))), body)),
    el("h3", {}, "Add a holiday"), add, addError);
  load();
  feed.on(["holidays.changed"], load);
}
