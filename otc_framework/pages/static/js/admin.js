// The admin page (being built).
import { session } from "./session.js";

session("admin", () => {});
