// Money and numbers in pt-BR, from the API's decimal strings, never through a float.
//
// Intl.NumberFormat formats a numeric *string* exactly (the value it represents, not the
// nearest double), so "123456789012345.678901" prints every digit. Parsing goes the other
// way on the text itself.

const formatters = new Map();

function formatter(options) {
  const key = JSON.stringify(options);
  if (!formatters.has(key)) formatters.set(key, new Intl.NumberFormat("pt-BR", options));
  return formatters.get(key);
}

const DECIMAL = /^-?[0-9]+(\.[0-9]+)?$/;

function checked(value) {
  const text = String(value);
  if (!DECIMAL.test(text)) throw new TypeError(`not a decimal string: ${text}`);
  return text;
}

// "5015.00" → "R$ 5.015,00" (2 to 4 decimals as given).
export function brl(value, { minimum = 2, maximum = 4 } = {}) {
  return formatter({ style: "currency", currency: "BRL", minimumFractionDigits: minimum, maximumFractionDigits: maximum })
    .format(checked(value));
}

// A price per unit, BRL, to 4 decimals: "5.0150" → "5,0150".
export function price(value, digits = 4) {
  return formatter({ minimumFractionDigits: digits, maximumFractionDigits: Math.max(digits, 8) }).format(checked(value));
}

// A stablecoin amount: "100000.5" → "100.000,50"; up to 6 decimals, at least 2.
export function amount(value) {
  return formatter({ minimumFractionDigits: 2, maximumFractionDigits: 6 }).format(checked(value));
}

// A percentage as the API gives it ("0.3000" → "0,3000 %").
export function percent(value) {
  return `${formatter({ minimumFractionDigits: 2, maximumFractionDigits: 6 }).format(checked(value))} %`;
}

// Basis points ("18.0" → "18,0 bps").
export function bps(value) {
  return `${formatter({ minimumFractionDigits: 1, maximumFractionDigits: 2 }).format(checked(value))} bps`;
}

const GROUPED = /^[0-9]{1,3}(\.[0-9]{3})+(,[0-9]+)?$/;
const PLAIN = /^[0-9]+(,[0-9]+)?$/;

// What a person types, pt-BR: "100.000,50", "100000,5" or "250000" → "100000.50" etc.
// Dots only group thousands; the comma is the decimal mark. Anything else is refused with
// a message rather than guessed ("1.5" could mean 1,5 or 15).
export function parseAmount(text) {
  const typed = String(text).trim().replace(/\s/g, "");
  if (!GROUPED.test(typed) && !PLAIN.test(typed)) {
    throw new RangeError("Type the amount as 100.000,50: dots between thousands, a comma before decimals");
  }
  const [whole, fraction] = typed.replace(/\./g, "").split(",");
  const digits = whole.replace(/^0+(?=[0-9])/, "");
  if (fraction !== undefined && fraction.length > 6) throw new RangeError("At most 6 decimals");
  return fraction === undefined ? digits : `${digits}.${fraction}`;
}

const SAO_PAULO = "America/Sao_Paulo";
const dateTimes = new Map();

// An ISO instant shown in São Paulo time, pt-BR: "02/12/2026, 07:13:04".
export function dateTime(iso, { seconds = true, zone = SAO_PAULO } = {}) {
  if (!iso) return "";
  const key = `${seconds}|${zone}`;
  if (!dateTimes.has(key)) {
    dateTimes.set(key, new Intl.DateTimeFormat("pt-BR", {
      timeZone: zone, day: "2-digit", month: "2-digit", year: "numeric",
      hour: "2-digit", minute: "2-digit", second: seconds ? "2-digit" : undefined, hourCycle: "h23",
    }));
  }
  return dateTimes.get(key).format(new Date(iso));
}

// The São Paulo calendar day of an instant, "2026-12-02" (the API's date filters mean these days).
const days = new Intl.DateTimeFormat("en-CA", { timeZone: SAO_PAULO, year: "numeric", month: "2-digit", day: "2-digit" });
export function saoPauloDay(instant = new Date()) {
  return days.format(typeof instant === "string" ? new Date(instant) : instant);
}

// A calendar date "2026-12-02" → "02/12/2026" (no time zone involved).
export function date(isoDate) {
  if (!isoDate) return "";
  const [year, month, day] = isoDate.split("-");
  return `${day}/${month}/${year}`;
}

// Compare two decimal strings without floats: -1, 0 or 1.
export function compare(a, b) {
  const [sa, sb] = [checked(a), checked(b)];
  const negA = sa.startsWith("-");
  const negB = sb.startsWith("-");
  if (negA !== negB) return negA ? -1 : 1;
  const sign = negA ? -1 : 1;
  const [ia, fa = ""] = sa.replace("-", "").split(".");
  const [ib, fb = ""] = sb.replace("-", "").split(".");
  const wa = ia.replace(/^0+(?=[0-9])/, "");
  const wb = ib.replace(/^0+(?=[0-9])/, "");
  if (wa.length !== wb.length) return (wa.length > wb.length ? 1 : -1) * sign;
  const width = Math.max(fa.length, fb.length);
  const da = wa + fa.padEnd(width, "0");
  const db = wb + fb.padEnd(width, "0");
  if (da === db) return 0;
  return (da > db ? 1 : -1) * sign;
}
