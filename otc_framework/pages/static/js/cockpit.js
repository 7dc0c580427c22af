// The operator cockpit (SPEC §17): the LP price grid, spot sources and circuit breakers,
// today's hedges, exposure, the execution / LP-quote-mode / risk controls, live bot sessions
// and the latest alerts. Each panel is a module under ./cockpit/ exporting
// `mount(node, api, feed)` that fills its section's .panel-body (the template holds the
// headings) and may return a stop(). The page keeps ONE socket (/v1/ws/closings, through the
// admin panel's ./admin/feed.js): panels subscribe to the event types that concern them and
// re-read their lists after a reconnect, since events meanwhile were missed.

import { $ } from "./dom.js";
import { session } from "./session.js";
import { adminFeed } from "./admin/feed.js";
import * as lpGrid from "./cockpit/lp-grid.js";
import * as sources from "./cockpit/sources.js";
import * as hedges from "./cockpit/hedges.js";
import * as exposure from "./cockpit/exposure.js";
import * as controls from "./cockpit/controls.js";
import * as bots from "./cockpit/bots.js";
import * as alerts from "./cockpit/alerts.js";

const PANELS = [
  ["lp-grid", lpGrid], ["sources", sources], ["hedges", hedges], ["exposure", exposure],
  ["controls", controls], ["bots", bots], ["alerts", alerts],
];
const STATES = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", closed: "Disconnected" };

function showState(name) {
  const badge = $("#stream-state");
  badge.dataset.state = name;
  badge.textContent = STATES[name] || name;
}

session("admin", (api) => {
  showState("connecting");
  const feed = adminFeed(api, { onState: showState });
  const stops = [];
  for (const [id, panel] of PANELS) {
    const stop = panel.mount($(`#${id} .panel-body`), api, feed);
    if (typeof stop === "function") stops.push(stop);
  }
  return () => {
    feed.stop();
    stops.forEach((stop) => stop());
    showState("closed");
  };
});
