// The cockpit page (being built).
import { session } from "./session.js";

session("admin", () => {});
