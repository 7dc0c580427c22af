// The client dashboard (SPEC §6, §7): the tier's live price grid, a quote locked for a few
// seconds and confirmed once, and the client's own trades. Each part is a module under
// ./dashboard/; this one wires them to the price stream and keeps the server's clock offset
// (server `at` minus local time on the latest price message) for the quote's countdown.

import { $, announce } from "./dom.js";
import { liveStream } from "./live.js";
import { session } from "./session.js";
import { mountGrid } from "./dashboard/grid.js";
import { mountQuote } from "./dashboard/quote.js";
import { mountTrades } from "./dashboard/trades.js";

function start(api) {
  let offset = 0;
  const grid = mountGrid($("#prices"));
  const quote = mountQuote($("#quote"), api, {
    serverOffset: () => offset,
    onTraded: (closing) => trades.refresh(closing && closing.closingId),
    announce,
  });
  const trades = mountTrades($("#trades"), api, { onItems: (items) => quote.settleFrom(items) });
  trades.refresh();
  const stream = liveStream("/v1/ws/prices", api, {
    onMessage(message) {
      if (message.type !== "prices") return;
      offset = Date.parse(message.at) - Date.now();
      grid.onMessage(message);
    },
    onOpen: () => trades.refresh(),
    onState: grid.onState,
  });
  return () => {
    stream.stop();
    grid.stop();
    quote.stop();
    trades.stop();
  };
}

session("client", start);
