// The dashboard page (being built).
import { session } from "./session.js";

session("client", () => {});
