/**
 * Result parsers both twins install so the same query returns the same JavaScript values on
 * PostgreSQL (node-postgres) and on PGlite. Keys are PostgreSQL type OIDs.
 */

const INT8 = 20;
const DATE = 1082;
const TIMESTAMP = 1114;

/** bigint as a number while exact, else the decimal string: counts stay numbers, big ids stay exact. */
function parseInt8(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

/** Dates and zone-less timestamps stay text: a Date would invent a time zone the value does not have. */
function keepText(text: string): string {
  return text;
}

export const SHARED_TYPE_PARSERS: Readonly<Record<number, (text: string) => unknown>> = Object.freeze({
  [INT8]: parseInt8,
  [DATE]: keepText,
  [TIMESTAMP]: keepText,
});
