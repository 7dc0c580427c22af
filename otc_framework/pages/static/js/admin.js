// The admin panel (SPEC §9, §17): one module per section under ./admin/, each exporting
// `mount(section, api, tiers)` that fills its <section> and returns an optional
// `refresh()`; the panel re-reads a section when the admin stream says it changed.

import { session } from "./session.js";

const SECTIONS = ["clients", "spreads", "controls", "holidays", "closings", "audit", "alerts"];

session("admin", (api) => {
  const stops = [];
  for (const name of SECTIONS) {
    import(`./admin/${name}.js`).then((module) => {
      const stop = module.mount(document.getElementById(name), api);
      if (typeof stop === "function") stops.push(stop);
    });
  }
  return () => stops.forEach((stop) => stop());
});
