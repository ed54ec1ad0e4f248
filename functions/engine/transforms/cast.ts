// Subpath imports: the package root loads all of date-fns (~90 ms at start-up without a bundler).
// UTCDate: a Date whose local-time methods are its UTC ones, so date-fns parses and formats wall-clock
// values without the machine's time zone (no DST gaps on a laptop that Lambda, in UTC, would not have).
import { UTCDate } from '@date-fns/utc/date';
import { utc } from '@date-fns/utc/utc';
import { format as formatWithDateFns } from 'date-fns/format';
import { isValid } from 'date-fns/isValid';
import { parse } from 'date-fns/parse';
import type { TransformSpec } from '../spec/schema.js';
import { BOOLEAN_WORDS } from '../validate/boolean.js';
import {
  type CivilTimestamp,
  formatIsoDate,
  formatIsoTimestamp,
  parseIsoTimestamp,
  toUtc,
  trimBlanks,
} from '../validate/calendar.js';
import { describeValue } from '../validate/describe-value.js';
import { compileNumericDateFormat } from './date-format.js';
import { assertSafeColumnName, TransformConfigError } from './errors.js';
import { RowRejection, type RowStep } from './step.js';

export type CastSpec = Extract<TransformSpec, { cast: unknown }>['cast'];

/** What a conversion returns for a value it cannot read. */
const FAILED: unique symbol = Symbol('cast failed');
type Conversion = (value: unknown) => unknown;

/** By default, what PostgreSQL reads as a boolean (true, t, tr, yes, y, on, 1, false, f, no, off, 0, ...). */
const DEFAULT_TRUE = [...BOOLEAN_WORDS].filter(([, truth]) => truth).map(([word]) => word);
const DEFAULT_FALSE = [...BOOLEAN_WORDS].filter(([, truth]) => !truth).map(([word]) => word);
/** Parsed dates take missing fields (e.g. a format without a year) from here, never from the clock. */
const REFERENCE_DATE = new UTCDate(Date.UTC(2000, 0, 1));
/** date-fns tokens that fix the instant rather than the wall clock (offsets, epoch timestamps). */
const INSTANT_TOKENS = /[XxOTt]/;
const QUOTED_LITERAL = /'(?:[^']|'')*'/g;
const MAX_EXACT_DIGITS = 15;
const MIN_NORMAL_DOUBLE = 2.2250738585072014e-308;

/**
 * `cast: {column, to, ...}`: converts a column's value. Null, missing, '' (and, except for text,
 * blanks) become null rather than failing; a value that does not read as the type rejects the row:
 * `cannot cast "31/02/2026" to date with format dd/MM/yyyy`.
 * - integer: whole numbers, `thousands` grouping allowed, `.00` tolerated; a JS number when exact,
 *   else (beyond 15 digits) its digits as a string so none are lost.
 * - number: decimals with `decimal`/`thousands` separators (`1.234,56`), exponent allowed; a JS number
 *   when exact within 15 significant digits, else a normalised decimal string.
 * - boolean: `trueValues`/`falseValues` (case-insensitive), by default what PostgreSQL reads: true/false,
 *   t/f, yes/no, y/n, on/off, 1/0 and the prefixes PostgreSQL takes (`tr`, `fals`, `of`).
 * - date → `YYYY-MM-DD`; timestamp → ISO 8601 `YYYY-MM-DDTHH:MM:SS[.fff]`, with `Z` when the input
 *   carried an offset (converted to UTC). Without `format`, ISO 8601 input is read; with it, date-fns
 *   tokens (`dd/MM/yyyy HH:mm`), and the value must match the format exactly (checked by formatting
 *   the parsed date back), which also refuses impossible dates and 2-digit years for `yyyy`.
 * - text: numbers and booleans as their text, objects and arrays as JSON.
 */
export function compileCast(spec: CastSpec, path: string): RowStep {
  assertSafeColumnName(spec.column, `${path}.column`);
  checkOptionsFitType(spec, path);
  const { column } = spec;
  const convert = compileConversion(spec, path);
  const target = ` to ${spec.to}${describeOptions(spec)}`;
  const blanksAreNull = spec.to !== 'text';
  return (row) => {
    const value = row[column];
    if (value === undefined || value === null) return row;
    if (value === '' || (blanksAreNull && typeof value === 'string' && value.trim() === '')) {
      row[column] = null;
      return row;
    }
    const converted = convert(value);
    if (converted === FAILED) return new RowRejection(`cannot cast ${describeValue(value)}${target}`, column);
    row[column] = converted;
    return row;
  };
}

function checkOptionsFitType(spec: CastSpec, path: string): void {
  const numeric = spec.to === 'integer' || spec.to === 'number';
  const temporal = spec.to === 'date' || spec.to === 'timestamp';
  const misplaced = (option: string, fits: string) =>
    new TransformConfigError(`${path}.${option}`, `only applies to a cast to ${fits}, not to ${spec.to}`);
  if (spec.format !== undefined && !temporal) throw misplaced('format', 'date or timestamp');
  if (spec.decimal !== undefined && !numeric) throw misplaced('decimal', 'integer or number');
  if (spec.thousands !== undefined && !numeric) throw misplaced('thousands', 'integer or number');
  if (spec.trueValues !== undefined && spec.to !== 'boolean') throw misplaced('trueValues', 'boolean');
  if (spec.falseValues !== undefined && spec.to !== 'boolean') throw misplaced('falseValues', 'boolean');
  if (numeric) {
    for (const option of ['decimal', 'thousands'] as const) {
      const separator = spec[option];
      if (separator && /[\d+\-eE]/.test(separator)) {
        throw new TransformConfigError(`${path}.${option}`, `"${separator}" cannot be a separator`);
      }
    }
    if (spec.thousands && spec.thousands === (spec.decimal ?? '.')) {
      throw new TransformConfigError(
        `${path}.thousands`,
        `must differ from the decimal separator "${spec.decimal ?? '.'}"`,
      );
    }
  }
}

function describeOptions(spec: CastSpec): string {
  if (spec.format !== undefined) return ` with format ${spec.format}`;
  const separators: string[] = [];
  if (spec.decimal !== undefined) separators.push(`decimal "${spec.decimal}"`);
  if (spec.thousands) separators.push(`thousands "${spec.thousands}"`);
  return separators.length ? ` with ${separators.join(' and ')}` : '';
}

function compileConversion(spec: CastSpec, path: string): Conversion {
  switch (spec.to) {
    case 'integer':
      return compileIntegerConversion(spec.decimal ?? '.', spec.thousands || undefined);
    case 'number':
      return compileNumberConversion(spec.decimal ?? '.', spec.thousands || undefined);
    case 'boolean':
      return compileBooleanConversion(spec, path);
    case 'date':
      return spec.format === undefined
        ? isoDate
        : compileFormattedConversion(spec.format, 'date', `${path}.format`);
    case 'timestamp':
      return spec.format === undefined
        ? isoTimestamp
        : compileFormattedConversion(spec.format, 'timestamp', `${path}.format`);
    case 'text':
      return toText;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function integerPartPattern(thousands: string | undefined): string {
  return thousands ? `(\\d{1,3}(?:${escapeRegExp(thousands)}\\d{3})+|\\d+)` : '(\\d+)';
}

function compileIntegerConversion(decimal: string, thousands: string | undefined): Conversion {
  const pattern = new RegExp(`^([+-]?)${integerPartPattern(thousands)}(?:${escapeRegExp(decimal)}0*)?$`);
  const separator = thousands ? new RegExp(escapeRegExp(thousands), 'g') : undefined;
  return (value) => {
    if (typeof value === 'number') return Number.isInteger(value) ? value : FAILED;
    if (typeof value !== 'string') return FAILED;
    const m = pattern.exec(trimBlanks(value));
    if (!m) return FAILED;
    let digits = separator ? m[2]!.replace(separator, '') : m[2]!;
    digits = digits.replace(/^0+(?=\d)/, '');
    const negative = m[1] === '-' && digits !== '0';
    if (digits.length <= MAX_EXACT_DIGITS) return negative ? -Number(digits) : Number(digits);
    return negative ? `-${digits}` : digits;
  };
}

function compileNumberConversion(decimal: string, thousands: string | undefined): Conversion {
  const d = escapeRegExp(decimal);
  const pattern = new RegExp(
    `^([+-]?)(?:${integerPartPattern(thousands)}(?:${d}(\\d*))?|${d}(\\d+))(?:[eE]([+-]?\\d+))?$`,
  );
  const separator = thousands ? new RegExp(escapeRegExp(thousands), 'g') : undefined;
  return (value) => {
    if (typeof value === 'number') return Number.isFinite(value) ? value : FAILED;
    if (typeof value !== 'string') return FAILED;
    const m = pattern.exec(trimBlanks(value));
    if (!m) return FAILED;
    const integer = m[2] === undefined ? '' : separator ? m[2].replace(separator, '') : m[2];
    const fraction = m[3] ?? m[4] ?? '';
    const exponent = m[5];
    const text = `${m[1] === '-' ? '-' : ''}${integer || '0'}${fraction ? `.${fraction}` : ''}${exponent ? `e${exponent}` : ''}`;
    const n = Number(text);
    const significant = (integer + fraction).replace(/^0+/, '').replace(/0+$/, '');
    // A JS number only where it is the exact value: not beyond 15 digits, not past a double's range
    // (1e400 is Infinity, 1e-400 is 0: both were wrong values), not subnormal (fewer digits kept).
    const exact =
      significant.length <= MAX_EXACT_DIGITS &&
      (significant === '' ? n === 0 : Number.isFinite(n) && Math.abs(n) >= MIN_NORMAL_DOUBLE);
    return exact ? n : text;
  };
}

function compileBooleanConversion(spec: CastSpec, path: string): Conversion {
  const words = new Map<string, boolean>();
  for (const word of spec.trueValues ?? DEFAULT_TRUE) words.set(word.trim().toLowerCase(), true);
  for (const word of spec.falseValues ?? DEFAULT_FALSE) {
    const key = word.trim().toLowerCase();
    if (words.get(key) === true) {
      throw new TransformConfigError(`${path}.falseValues`, `"${word}" is also listed as a true value`);
    }
    words.set(key, false);
  }
  return (value) => {
    if (typeof value === 'boolean') return value;
    if (typeof value === 'number') return value === 1 ? true : value === 0 ? false : FAILED;
    if (typeof value !== 'string') return FAILED;
    return words.get(trimBlanks(value).toLowerCase()) ?? FAILED;
  };
}

function isoDate(value: unknown): unknown {
  const ts = typeof value === 'string' ? parseIsoTimestamp(value) : undefined;
  if (ts === undefined || typeof ts === 'string') return FAILED;
  return formatIsoDate(toUtc(ts));
}

function isoTimestamp(value: unknown): unknown {
  const ts = typeof value === 'string' ? parseIsoTimestamp(value) : undefined;
  if (ts === undefined || typeof ts === 'string') return FAILED;
  return timestampText(toUtc(ts), ts.offsetMinutes !== undefined);
}

function timestampText(ts: CivilTimestamp, inUtcZone: boolean): unknown {
  if (ts.year < 1 || ts.year > 9999) return FAILED;
  return formatIsoTimestamp(ts, 'T') + (inUtcZone ? 'Z' : '');
}

function compileFormattedConversion(format: string, to: 'date' | 'timestamp', path: string): Conversion {
  const options = { in: utc };
  try {
    const sample = formatWithDateFns(REFERENCE_DATE, format, options);
    if (!isValid(parse(sample, format, REFERENCE_DATE, options))) {
      throw new Error(`date-fns cannot read back "${sample}" with it`);
    }
  } catch (error) {
    throw new TransformConfigError(path, `invalid date format "${format}": ${(error as Error).message}`);
  }
  const numeric = compileNumericDateFormat(format);
  if (numeric) {
    return (value) => {
      const parsed = typeof value === 'string' ? numeric(value.trim()) : undefined;
      if (!parsed) return FAILED;
      return to === 'date' ? formatIsoDate(parsed) : timestampText(parsed, false);
    };
  }
  const fixesInstant = INSTANT_TOKENS.test(format.replace(QUOTED_LITERAL, ''));
  return (value) => {
    if (typeof value !== 'string') return FAILED;
    const text = value.trim();
    const parsed = parse(text, format, REFERENCE_DATE, options);
    if (!isValid(parsed)) return FAILED;
    // date-fns reads "1/2/26" with dd/MM/yyyy as year 26; formatting back must give the input again.
    if (!fixesInstant && formatWithDateFns(parsed, format, options).toLowerCase() !== text.toLowerCase())
      return FAILED;
    const year = parsed.getUTCFullYear();
    if (year < 1 || year > 9999) return FAILED;
    const civil = { year, month: parsed.getUTCMonth() + 1, day: parsed.getUTCDate() };
    if (to === 'date') return formatIsoDate(civil);
    const ms = parsed.getUTCMilliseconds();
    return timestampText(
      {
        ...civil,
        hour: parsed.getUTCHours(),
        minute: parsed.getUTCMinutes(),
        second: parsed.getUTCSeconds(),
        fraction: ms ? String(ms).padStart(3, '0') : '',
        offsetMinutes: undefined,
      },
      fixesInstant,
    );
  };
}

function toText(value: unknown): unknown {
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
