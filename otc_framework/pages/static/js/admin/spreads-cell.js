// One editable percentage of a spread grid: Enter or leaving the field with a change saves
// it, Escape puts back the saved value, and the cell says "saved" or why not, in words.

import { el, replace } from "../dom.js";
import { problemMessage } from "../problems.js";

const DECIMAL = /^[0-9]+(\.[0-9]+)?$/;

// What the admin typed → the API's decimal string ("0,35" → "0.35"), "" when `empty` is
// allowed and nothing was typed, or a RangeError. Only the one comma pt-BR puts before the
// decimals is read; anything else is refused rather than guessed.
export function readPercent(text, { empty = false } = {}) {
  const typed = text.trim();
  if (typed === "" && empty) return "";
  const value = typed.replace(",", ".");
  if (!DECIMAL.test(value)) throw new RangeError("Type a percentage such as 0,35");
  return value;
}

function shown(value) {
  return value === null ? "" : value.replace(".", ",");
}

// `save(text)` PUTs the cell and returns the saved value (a decimal string, or null).
export function percentCell(label, value, save, { empty = false } = {}) {
  let saved = value;
  let busy = false;
  const input = el("input", { type: "text", inputmode: "decimal", class: "num", "aria-label": label, value: shown(value),
    spellcheck: "false", autocomplete: "off", placeholder: empty ? "none" : undefined });
  const mark = el("span", { class: "cell-mark", "aria-live": "polite" });
  const cell = el("td", { class: "spread-cell" }, input, mark);

  function state(kind, text) {
    cell.dataset.state = kind;
    input.setAttribute("aria-invalid", String(kind === "error"));
    replace(mark, text);
  }

  async function commit() {
    if (busy) return;
    let value;
    try {
      value = readPercent(input.value, { empty });
    } catch (error) {
      state("error", error.message);
      return;
    }
    const next = value === "" ? null : value;
    if (next === saved || (next !== null && saved !== null && shown(next) === shown(saved))) {
      if (cell.dataset.state === "error") state("", "");
      return;
    }
    busy = true;
    state("saving", "saving…");
    try {
      saved = await save(next);
      input.value = shown(saved);
      state("saved", "✓ saved");
    } catch (problem) {
      state("error", problemMessage(problem));
    } finally {
      busy = false;
    }
  }

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      commit();
    } else if (event.key === "Escape") {
      input.value = shown(saved);
      state("", "");
    }
  });
  input.addEventListener("blur", commit);

  return {
    cell,
    // A re-read from the server (maybe another tab's save): the new saved value, shown
    // unless the admin has typed something not saved yet in this cell.
    update(value) {
      const dirty = input.value !== shown(saved);
      saved = value;
      if (!dirty) input.value = shown(value);
    },
  };
}
