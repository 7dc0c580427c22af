// A new API key, shown once: it lives only in this box's text until the admin dismisses it
// (or the list is searched or paged), and is never written to storage.

import { el, replace } from "../dom.js";

export function keyBox() {
  const node = el("div", { class: "key-once-box", role: "region", "aria-label": "New API key", hidden: true });

  function hide() {
    replace(node);
    node.hidden = true;
  }

  function show(name, apiKey) {
    const code = el("code", { class: "key-text" }, apiKey);
    const copied = el("span", { class: "muted", "aria-live": "polite" });
    const copy = el("button", { type: "button" }, "Copy");
    copy.addEventListener("click", async () => {
      if (!navigator.clipboard || !navigator.clipboard.writeText) {
        replace(copied, "Copying is not available here: select the key and copy it.");
        return;
      }
      try {
        await navigator.clipboard.writeText(apiKey);
        replace(copied, "Copied.");
      } catch {
        replace(copied, "Copying was refused: select the key and copy it.");
      }
    });
    replace(node,
      el("p", { class: "notice" }, `The API key of ${name}. Copy it now: it will not be shown again.`),
      el("div", { class: "key-once" }, code, copy,
        el("button", { type: "button", class: "quiet", onclick: hide }, "Done, hide the key"), copied));
    node.hidden = false;
    copy.focus();
  }

  return { node, show, hide };
}
