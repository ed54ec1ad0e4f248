// `sluice init`: the destination type of one column from a sample of its values (pure, no I/O).
import { compileCast } from '../../../functions/engine/transforms/cast.js';
import { RowRejection } from '../../../functions/engine/transforms/step.js';
import { parseIsoDate, parseIsoTimestamp } from '../../../functions/engine/validate/calendar.js';

/** What a sample says about a column. */
export interface InferredColumn {
  /** A destination type of the spec (`integer`, `numeric(12,2)`, `timestamp`, `text`, …). */
  type: string;
  /** True when a sampled value was null, missing or blank (or the sample had no value at all). */
  nullable: boolean;
  /** A cast the spec needs first: a date or timestamp in a layout other than ISO 8601. */
  cast?: { to: 'date' | 'timestamp'; format: string };
  /** Why the type is what it is, for the spec's comment (`leading zeros: kept as text`). */
  note?: string;
  /** Every non-null sampled value differs from the others (a key candidate). */
  distinct: boolean;
  /** How many sampled values were not null. */
  present: number;
}

/** Precision a decimal column gets at least: the sample's widest value rarely is the data's. */
export const MIN_NUMERIC_PRECISION = 18;
/** PostgreSQL's largest declarable numeric precision. */
const MAX_NUMERIC_PRECISION = 1000;
const INT32_MAX = 2n ** 31n - 1n;
const INT32_MIN = -(2n ** 31n);
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

const INTEGER = /^([+-]?)(\d+)$/;
const DECIMAL = /^([+-]?)(\d*)\.(\d*)$/;
const EXPONENT = /^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Spellings read as booleans; 1/0 are left to the integer rule (a count is more likely than a flag). */
const BOOLEAN_WORDS = new Set(['true', 'false', 't', 'f', 'yes', 'no', 'y', 'n']);
/** A date (and time) with the year first or last: `31/01/2026`, `2026/01/31 14:05`, `1.2.2026 9:05:00`. */
const OTHER_DATE =
  /^(\d{1,4})([/.-])(\d{1,2})\2(\d{1,4})(?:([ T])(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?$/;

/**
 * The narrowest destination type every sampled value of a column loads as, checked with the same
 * readers a run uses. A value kind the others disagree with makes the column `text` (with a note),
 * never a guess: leading zeros stay text (zip codes), ambiguous day/month orders stay text.
 *
 * @example inferColumnType(['1', '2', '']) // { type: 'integer', nullable: true, distinct: true, present: 2 }
 */
export function inferColumnType(values: readonly unknown[]): InferredColumn {
  const present: unknown[] = [];
  let nullable = false;
  for (const value of values) {
    if (value === null || value === undefined || (typeof value === 'string' && value.trim() === '')) {
      nullable = true;
    } else present.push(value);
  }
  if (present.length === 0) {
    return { type: 'text', nullable: true, note: 'no value in the sample', distinct: false, present: 0 };
  }
  const distinct = new Set(present.map(distinctKey)).size === present.length;
  const base = { nullable, distinct, present: present.length };
  return { ...base, ...typeOf(present) };
}

type TypeChoice = Pick<InferredColumn, 'type' | 'cast' | 'note'>;

function typeOf(values: readonly unknown[]): TypeChoice {
  if (values.every((v) => typeof v === 'object')) return { type: 'jsonb' };
  if (values.every((v) => typeof v === 'boolean')) return { type: 'boolean' };
  if (values.some((v) => typeof v === 'object')) {
    return { type: 'text', note: 'objects mixed with other values: kept as text (JSON for the objects)' };
  }
  if (values.some((v) => typeof v === 'boolean') && !values.every((v) => typeof v === 'boolean')) {
    return { type: 'text', note: 'booleans mixed with other values: kept as text' };
  }
  const texts = values.map((v) => (typeof v === 'number' ? numberText(v) : String(v).trim()));
  return (
    numericType(texts) ??
    booleanType(texts) ??
    isoTemporalType(texts) ??
    formattedTemporalType(texts) ??
    uuidType(texts) ??
    jsonType(texts) ?? { type: 'text' }
  );
}

function numberText(n: number): string {
  return Number.isInteger(n) && Math.abs(n) < 1e21 ? BigInt(n).toString() : String(n);
}

function distinctKey(value: unknown): string {
  return typeof value === 'object' ? JSON.stringify(value) : `${typeof value}:${String(value)}`;
}

function numericType(texts: readonly string[]): TypeChoice | undefined {
  let integerDigits = 0;
  let scale = 0;
  let allIntegers = true;
  let min = 0n;
  let max = 0n;
  for (const text of texts) {
    const integer = INTEGER.exec(text);
    if (integer) {
      const digits = integer[2]!;
      if (digits.length > 1 && digits.startsWith('0')) return leadingZeros();
      const n = BigInt(text);
      if (n < min) min = n;
      if (n > max) max = n;
      integerDigits = Math.max(integerDigits, digits.length);
      continue;
    }
    const decimal = DECIMAL.exec(text);
    if (decimal && (decimal[2] !== '' || decimal[3] !== '')) {
      const whole = decimal[2]!;
      if (whole.length > 1 && whole.startsWith('0')) return leadingZeros();
      allIntegers = false;
      integerDigits = Math.max(integerDigits, whole.replace(/^0+/, '').length);
      scale = Math.max(scale, decimal[3]!.length);
      continue;
    }
    if (EXPONENT.test(text)) {
      if (!texts.every((t) => INTEGER.test(t) || DECIMAL.test(t) || EXPONENT.test(t))) return undefined;
      return { type: 'numeric', note: 'numbers with exponents: numeric without a fixed scale' };
    }
    return undefined;
  }
  if (allIntegers) {
    if (min >= INT32_MIN && max <= INT32_MAX) return { type: 'integer' };
    if (min >= INT64_MIN && max <= INT64_MAX) return { type: 'bigint' };
  }
  const precision = Math.max(integerDigits + scale, MIN_NUMERIC_PRECISION);
  if (precision > MAX_NUMERIC_PRECISION) {
    return { type: 'text', note: `numbers wider than numeric(${MAX_NUMERIC_PRECISION}): kept as text` };
  }
  return { type: `numeric(${precision},${scale})` };
}

function leadingZeros(): TypeChoice {
  return { type: 'text', note: 'leading zeros (a code, not a number): kept as text' };
}

function booleanType(texts: readonly string[]): TypeChoice | undefined {
  return texts.every((t) => BOOLEAN_WORDS.has(t.toLowerCase())) ? { type: 'boolean' } : undefined;
}

/** ISO 8601 as the date and timestamp validators read it: no cast needed. */
function isoTemporalType(texts: readonly string[]): TypeChoice | undefined {
  let dates = 0;
  let withOffset = 0;
  for (const text of texts) {
    if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
    if (text.length === 10) {
      if (typeof parseIsoDate(text) === 'string') return undefined;
      dates++;
      continue;
    }
    const ts = parseIsoTimestamp(text);
    if (typeof ts === 'string' || ts.fraction.length > 6) return undefined;
    if (ts.offsetMinutes !== undefined) withOffset++;
  }
  if (dates === texts.length) return { type: 'date' };
  if (withOffset === 0) return { type: 'timestamp' };
  if (withOffset + dates === texts.length && dates === 0) return { type: 'timestamptz' };
  return {
    type: 'text',
    note: 'timestamps with and without a UTC offset: kept as text (which zone would the others be in?)',
  };
}

/**
 * Dates and timestamps in another layout (`31/01/2026`, `01.31.2026 14:05`): one date-fns format that
 * reads every value, checked with the cast a run compiles. Day and month that both stay ≤ 12 in the
 * whole sample cannot be told apart: text, with a note, rather than a guess.
 */
function formattedTemporalType(texts: readonly string[]): TypeChoice | undefined {
  const parts = texts.map((t) => OTHER_DATE.exec(t));
  if (parts.some((m) => !m)) return undefined;
  const matches = parts as RegExpExecArray[];
  const first = matches[0]!;
  const separator = first[2]!;
  const timeMark = first[5];
  const hasSeconds = first[8] !== undefined;
  const fractionDigits = first[9]?.length;
  if (
    matches.some(
      (m) =>
        m[2] !== separator ||
        m[5] !== timeMark ||
        (m[8] !== undefined) !== hasSeconds ||
        m[9]?.length !== fractionDigits,
    )
  )
    return { type: 'text', note: 'dates in more than one layout: kept as text' };
  const yearFirst = matches.every((m) => m[1]!.length === 4);
  const yearLast = matches.every((m) => m[4]!.length === 4);
  if (!yearFirst && !yearLast) return undefined;
  const [a, b] = yearFirst ? [3, 4] : [1, 3];
  let order: 'dm' | 'md';
  if (yearFirst) order = 'md';
  else {
    const aOver12 = matches.some((m) => Number(m[a]) > 12);
    const bOver12 = matches.some((m) => Number(m[b]) > 12);
    if (aOver12 === bOver12) {
      return {
        type: 'text',
        note: aOver12
          ? 'dates whose day and month cannot be told apart: kept as text'
          : `dates like ${texts[0]} where day and month are both 12 or less in the whole sample: kept as text (set a cast with dd${separator}MM or MM${separator}dd)`,
      };
    }
    order = aOver12 ? 'dm' : 'md';
  }
  const token = (group: number, letter: string) => padding(matches, group, letter);
  const day = order === 'dm' ? token(a, 'd') : token(b, 'd');
  const month = order === 'dm' ? token(b, 'M') : token(a, 'M');
  if (day === undefined || month === undefined) {
    return { type: 'text', note: 'dates written with and without leading zeros: kept as text' };
  }
  let format = yearFirst
    ? `yyyy${separator}${month}${separator}${day}`
    : order === 'dm'
      ? `${day}${separator}${month}${separator}yyyy`
      : `${month}${separator}${day}${separator}yyyy`;
  let to: 'date' | 'timestamp' = 'date';
  if (timeMark !== undefined) {
    const hour = token(6, 'H');
    if (hour === undefined)
      return { type: 'text', note: 'hours with and without a leading zero: kept as text' };
    format += `${timeMark === 'T' ? "'T'" : ' '}${hour}:mm${hasSeconds ? ':ss' : ''}${fractionDigits ? `.${'S'.repeat(fractionDigits)}` : ''}`;
    to = 'timestamp';
  }
  if (!texts.every((t) => castReads(t, to, format))) return undefined;
  return { type: to, cast: { to, format } };
}

/** `dd` when every value has two digits, `d` when none has a leading zero, else undefined. */
function padding(matches: readonly RegExpExecArray[], group: number, letter: string): string | undefined {
  if (matches.every((m) => m[group]!.length === 2)) return letter + letter;
  if (matches.every((m) => !m[group]!.startsWith('0'))) return letter;
  return undefined;
}

function castReads(text: string, to: 'date' | 'timestamp', format: string): boolean {
  try {
    const step = compileCast({ column: 'v', to, format }, 'init');
    return !(step({ v: text }) instanceof RowRejection);
  } catch {
    return false;
  }
}

function uuidType(texts: readonly string[]): TypeChoice | undefined {
  return texts.every((t) => UUID.test(t)) ? { type: 'uuid' } : undefined;
}

/** JSON objects and arrays written as text (a CSV cell holding `{"a":1}`). */
function jsonType(texts: readonly string[]): TypeChoice | undefined {
  for (const text of texts) {
    if (!/^[[{]/.test(text)) return undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed === null || typeof parsed !== 'object') return undefined;
    } catch {
      return undefined;
    }
  }
  return { type: 'jsonb' };
}
