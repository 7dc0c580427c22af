// The lifecycle buttons of one closing (SPEC §9): each sends `{"from": <the status shown>}`,
// so a double click, a stale page or a second operator moves the trade at most one step and
// the others get STATUS_CONFLICT, shown in words. While a call is in flight every button of
// that closing is disabled.

import { el } from "../dom.js";

const NEXT = { pending: "funded", funded: "paid", paid: "settled" };
const BACK = { funded: "pending", paid: "funded" };
const CANCELLABLE = new Set(["pending", "funded", "paid"]);

// [label, path] of each action a closing in `status` allows.
export function actionsFor(status) {
  const actions = [];
  if (NEXT[status]) actions.push([`Advance to ${NEXT[status]}`, "advance"]);
  if (BACK[status]) actions.push([`Revert to ${BACK[status]}`, "revert"]);
  if (status === "paid") actions.push(["Send to desk", "send-to-desk"]);
  if (CANCELLABLE.has(status)) actions.push(["Cancel trade", "cancel"]);
  return actions;
}

// `run(closing, path)` does the call; `busy` says whether one is in flight for this closing.
export function actionButtons(closing, { busy, run }) {
  return el("div", { class: "closing-actions", role: "group", "aria-label": `Actions on closing ${closing.oid}` },
    actionsFor(closing.status).map(([label, path]) => el("button", {
      type: "button",
      class: path === "cancel" ? "danger" : path === "advance" ? "" : "quiet",
      disabled: busy,
      dataset: { action: path },
      onclick: (event) => {
        // Disable at once, before the answer: the second click of a double click finds
        // nothing to press.
        for (const button of event.currentTarget.parentElement.querySelectorAll("button")) button.disabled = true;
        run(closing, path);
      },
    }, label)));
}
