// What several cockpit panels share: ages in seconds, a status word in a badge, and a
// debounced re-read.

import { el } from "../dom.js";

const SECONDS = new Intl.NumberFormat("pt-BR", { minimumFractionDigits: 1, maximumFractionDigits: 1 });

// An age the API gives as a number of seconds (not money): "3,2 s"; "—" when there is none.
export function seconds(value) {
  return value === null || value === undefined ? "—" : `${SECONDS.format(value)} s`;
}

// A status as a word in a badge; the colour (cockpit.css, by data-status) only repeats it.
export function badge(status, text = status) {
  return el("span", { class: "badge status-badge", dataset: { status } }, text);
}

// `load` run at most once at a time: a call while one runs asks for one more run after it.
export function serialized(load) {
  let running = null;
  let again = false;
  return async function run() {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await load();
      } while (again);
    })();
    try {
      await running;
    } finally {
      running = null;
    }
  };
}
