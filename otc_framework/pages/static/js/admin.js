// The admin panel (SPEC §9, §17): one module per section under ./admin/, each exporting
// `mount(section, api, feed)` that fills its <section> and subscribes to the events of the
// panel's one socket (./admin/feed.js) that concern it.

import { session } from "./session.js";
import { adminFeed } from "./admin/feed.js";

const SECTIONS = ["clients", "spreads", "controls", "holidays", "closings", "audit", "alerts"];

session("admin", (api) => {
  const feed = adminFeed(api);
  const stops = [];
  for (const name of SECTIONS) {
    import(`./admin/${name}.js`).then((module) => {
      const stop = module.mount(document.getElementById(name), api, feed);
      if (typeof stop === "function") stops.push(stop);
    });
  }
  return () => {
    feed.stop();
    stops.forEach((stop) => stop());
  };
});
