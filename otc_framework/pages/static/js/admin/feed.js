// The admin panel's one socket (/v1/ws/closings, SPEC §10): each section subscribes to the
// event types that concern it, and every section re-reads itself after a reconnect, since it
// may have missed events meanwhile. One socket per tab, whatever the number of sections.

import { liveStream } from "../live.js";

export function adminFeed(api, { onState = () => {} } = {}) {
  const listeners = [];
  let first = true;
  const stream = liveStream("/v1/ws/closings", api, {
    onMessage(message) {
      for (const listener of listeners) {
        if (listener.types.includes(message.type)) listener.onEvent(message);
      }
    },
    onOpen() {
      // Each section read itself when it mounted; only a reconnect needs a re-read.
      if (first) first = false;
      else listeners.forEach((listener) => listener.onReconnect());
    },
    onState,
  });
  return {
    // `onEvent(message)` for each event of `types`; `onReconnect()` (by default a call of
    // `onEvent` with no message) after the socket came back.
    on(types, onEvent, onReconnect = () => onEvent(null)) {
      listeners.push({ types, onEvent, onReconnect });
    },
    stop() {
      stream.stop();
    },
  };
}
