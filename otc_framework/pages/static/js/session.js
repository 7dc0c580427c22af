// The log-in form every page shares, and what happens around it: with a token the page's
// app shows and `start` runs; without one (or once logged out) the form shows.

import { Api } from "./api.js";
import { $, announce } from "./dom.js";
import { problemMessage } from "./problems.js";

export function session(role, start) {
  const api = new Api(role);
  const form = $("#login");
  const app = $("#app");
  const who = $("#who");
  const logout = $("#logout");
  let stop = null;

  function showApp(claims) {
    form.hidden = true;
    app.hidden = false;
    who.hidden = false;
    logout.hidden = false;
    who.textContent = claims.clientName || claims.sub || "";
    stop = start(api, claims) || null;
  }

  function showLogin() {
    if (typeof stop === "function") stop();
    stop = null;
    app.hidden = true;
    who.hidden = true;
    logout.hidden = true;
    form.hidden = false;
    $("#api-key", form).focus();
  }

  api.onLoggedOut(() => {
    showLogin();
    announce("Logged out.");
  });
  logout.addEventListener("click", () => api.logout());

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("#api-key", form);
    const error = $("#login-error", form);
    const submit = $("button[type=submit]", form);
    error.textContent = "";
    submit.disabled = true;
    try {
      const claims = await api.login(input.value.trim());
      input.value = "";
      showApp(claims);
    } catch (problem) {
      error.textContent = problem.code === "FORBIDDEN" ? `${problem.message}.` : problemMessage(problem);
    } finally {
      submit.disabled = false;
    }
  });

  const claims = api.claims();
  if (claims && claims.role === role && claims.exp * 1000 > Date.now()) showApp(claims);
  else {
    if (claims) sessionStorage.removeItem(api.storageKey);
    showLogin();
  }
  return api;
}
