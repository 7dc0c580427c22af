// Light or dark: the system's preference unless the user picked one (kept in localStorage;
// only this choice is kept there, never a token).

const KEY = "otc.theme";
const button = document.getElementById("theme");

function apply(theme) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
  const dark = theme ? theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
  button.setAttribute("aria-pressed", String(dark));
  button.textContent = dark ? "Light theme" : "Dark theme";
}

apply(localStorage.getItem(KEY));
button.addEventListener("click", () => {
  const dark = button.getAttribute("aria-pressed") === "true";
  const next = dark ? "light" : "dark";
  localStorage.setItem(KEY, next);
  apply(next);
});
