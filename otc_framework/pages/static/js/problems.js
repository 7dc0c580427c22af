// What to tell a person for each problem code the API answers (SPEC §11).

import { dateTime } from "./money.js";

const MESSAGES = {
  VALIDATION_ERROR: "Some of what you entered is not valid",
  UNAUTHORIZED: "Your session ended: log in again",
  FORBIDDEN: "This key may not do that",
  NOT_FOUND: "Not found (it may have been removed)",
  SESSION_ALREADY_CLOSED: "This quote was already confirmed",
  STATUS_CONFLICT: "Someone changed this meanwhile: the list was re-read, check it and try again",
  ILLEGAL_TRANSITION: "That step is not allowed from the current status",
  SESSION_EXPIRED: "The quote expired before it was confirmed: ask for a new one",
  RATE_LIMITED: "Too many requests: wait a moment and try again",
  SPOT_UNAVAILABLE: "No fresh market rate right now: quotes resume as soon as the rate is back",
  QUOTING_DISABLED: "The desk is not taking quotes right now",
  API_DISABLED: "The desk's API is switched off right now",
  NOT_READY: "The desk is busy recovering: try again in a few seconds",
  NETWORK: "The desk cannot be reached: check the connection",
};

export function problemMessage(problem) {
  const code = problem.code;
  if (code === "MARKET_CLOSED") {
    const next = problem.body && problem.body.nextOpen;
    return next ? `The market is closed; it opens ${dateTime(next, { seconds: false })} (São Paulo time)`
      : "The market is closed";
  }
  const base = MESSAGES[code] || "Something went wrong";
  const detail = problem.body && problem.body.detail;
  const trace = problem.body && problem.body.traceId;
  const parts = [base];
  if (detail && code !== "NETWORK") parts.push(`(${detail})`);
  if (trace && problem.status >= 500) parts.push(`ref. ${trace}`);
  return `${parts.join(" ")}.`.replace(/\.\.$/, ".");
}
