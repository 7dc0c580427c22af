// A WebSocket of the API that reconnects by itself.
//
// The token goes in the first message ({"token": …}), never in the URL, so it stays out of
// access logs and history. A close the server means as final (4401: the key was revoked or
// rotated; 4403: not an admin) ends the stream and logs the page out; anything else
// (a restart, 1001, 1013 "too slow", the network) reconnects after a growing pause, and
// `onOpen` runs again so the page can re-read what it missed.

const FINAL = new Set([4401, 4403]);
const MAX_PAUSE_MS = 10000;

export function liveStream(path, api, { onMessage, onOpen = () => {}, onState = () => {} }) {
  let socket = null;
  let pause = 500;
  let stopped = false;
  let timer = null;

  function url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}${path}`;
  }

  function connect() {
    if (stopped) return;
    const token = api.token;
    if (!token) return;
    onState("connecting");
    let opened = false;
    socket = new WebSocket(url());
    socket.addEventListener("open", () => socket.send(JSON.stringify({ token })));
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === "error") return;
      if (!opened) {
        // The server accepted the token: reset the back-off, and let the page re-read.
        opened = true;
        pause = 0;
        onState("live");
        onOpen(message);
      }
      onMessage(message);
    });
    socket.addEventListener("close", (event) => {
      socket = null;
      if (stopped) return;
      if (FINAL.has(event.code)) {
        onState("closed");
        api.logout();
        return;
      }
      onState("reconnecting");
      pause = Math.min(Math.max(pause * 2, 500), MAX_PAUSE_MS);
      timer = setTimeout(connect, pause);
    });
  }

  connect();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (socket) socket.close(1000, "page left");
    },
  };
}
