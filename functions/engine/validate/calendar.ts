/**
 * ISO 8601 dates and timestamps as PostgreSQL reads them, checked against the real calendar with plain
 * integer arithmetic: no `Date`, so results never depend on the machine's time zone.
 */

import { type CivilDate, civilFromDays, daysFromCivil } from '../../shared/civil-date.js';

export { type CivilDate, civilFromDays, daysFromCivil };

export interface CivilTimestamp extends CivilDate {
  hour: number;
  minute: number;
  second: number;
  /** Digits after the decimal point as written ('' when none), so microseconds survive unrounded. */
  fraction: string;
  /** Offset east of UTC in minutes; undefined when the text carries no offset. */
  offsetMinutes: number | undefined;
}

/** Blanks as PostgreSQL's input functions skip them (C isspace): not JavaScript's Unicode `\s`. */
export const BLANK = '[ \\t\\n\\v\\f\\r]';
const EDGE_BLANKS = new RegExp(`^${BLANK}+|${BLANK}+$`, 'g');

/** Text without the blanks PostgreSQL's input functions skip at either end. */
export function trimBlanks(text: string): string {
  return text.replace(EDGE_BLANKS, '');
}

const ISO_DATE = new RegExp(`^${BLANK}*(\\d{4})-(\\d{2})-(\\d{2})${BLANK}*$`);
const ISO_TIMESTAMP = new RegExp(
  `^${BLANK}*(\\d{4})-(\\d{2})-(\\d{2})(?:[Tt ](\\d{2}):(\\d{2})(?::(\\d{2})(?:[.](\\d+))?)?${BLANK}*([Zz]|[+-]\\d{2}(?::?\\d{2})?)?)?${BLANK}*$`,
);
/** What PostgreSQL also reads as a date or timestamp, and Sluice does not store (see whyNotStored). */
const BC_MARK = new RegExp(`${BLANK}(?:BC|B\\.C\\.)${BLANK}*$`, 'i');
const SPECIAL_WORD = new RegExp(
  `^${BLANK}*([+-]?infinity|epoch|now|today|tomorrow|yesterday)${BLANK}*$`,
  'i',
);
const LONG_YEAR = new RegExp(`^${BLANK}*\\d{5,}-`);

const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Why year-month-day is not a date PostgreSQL stores (years 1 to 9999), or undefined when it is one. */
export function calendarProblem(year: number, month: number, day: number): string | undefined {
  if (year < 1 || year > 9999) return `year ${year} is outside 1-9999`;
  if (month < 1 || month > 12) return `month ${month} does not exist`;
  const days = daysInMonth(year, month);
  if (day < 1 || day > days) return `${MONTH_NAMES[month - 1]} ${year} has ${days} days`;
  return undefined;
}

/**
 * Parses `YYYY-MM-DD` (surrounding blanks allowed); returns the date or, as a string, why it is not one
 * (a phrase to follow the quoted value, e.g. `is not a real date: February 2026 has 28 days`).
 */
export function parseIsoDate(text: string): CivilDate | string {
  let year: number;
  let month: number;
  let day: number;
  if (text.length === 10 && isDashedDate(text)) {
    // The usual exact form, read without the regex (same result; a hot path of every load).
    year = digits(text, 0, 4);
    month = digits(text, 5, 2);
    day = digits(text, 8, 2);
  } else {
    const m = ISO_DATE.exec(text);
    if (!m) return whyNotStored(text, 'date') ?? 'is not a date in the form YYYY-MM-DD';
    year = Number(m[1]);
    month = Number(m[2]);
    day = Number(m[3]);
  }
  const problem = calendarProblem(year, month, day);
  return problem ? `is not a real date: ${problem}` : { year, month, day };
}

/**
 * Parses an ISO 8601 timestamp: `YYYY-MM-DD`, then optionally `T` or a space, `HH:MM[:SS[.fraction]]`
 * and an offset (`Z`, `+HH`, `+HHMM`, `+HH:MM`). A date alone means midnight. Returns the parts or, as
 * a string, why the text is not a real timestamp.
 */
export function parseIsoTimestamp(text: string): CivilTimestamp | string {
  if (text.length === 19 && isDashedDate(text) && isClock(text)) {
    // `YYYY-MM-DD HH:MM:SS` (or with T), read without the regex: same result, the hot path of a load.
    return civilTimestamp(
      digits(text, 0, 4),
      digits(text, 5, 2),
      digits(text, 8, 2),
      digits(text, 11, 2),
      digits(text, 14, 2),
      digits(text, 17, 2),
      '',
      undefined,
    );
  }
  const m = ISO_TIMESTAMP.exec(text);
  if (!m)
    return (
      whyNotStored(text, 'timestamp') ?? 'is not an ISO 8601 timestamp (YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM])'
    );
  const parts = civilTimestamp(
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
    m[4] === undefined ? 0 : Number(m[4]),
    m[5] === undefined ? 0 : Number(m[5]),
    m[6] === undefined ? 0 : Number(m[6]),
    m[7] ?? '',
    undefined,
  );
  const offset = m[8];
  if (typeof parts === 'string' || offset === undefined) return parts;
  if (offset === 'Z' || offset === 'z') return { ...parts, offsetMinutes: 0 };
  const packed = offset.replace(':', '');
  const hours = Number(packed.slice(1, 3));
  const minutes = packed.length > 3 ? Number(packed.slice(3, 5)) : 0;
  if (hours > 15 || minutes > 59) return `has an impossible offset ${offset}`;
  return { ...parts, offsetMinutes: (offset[0] === '-' ? -1 : 1) * (hours * 60 + minutes) };
}

/** The parts of a timestamp after the calendar and clock checks, or why they fail. */
function civilTimestamp(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  fraction: string,
  offsetMinutes: number | undefined,
): CivilTimestamp | string {
  const problem = calendarProblem(year, month, day);
  if (problem) return `is not a real date: ${problem}`;
  if (hour > 23) return `is not a real time: hour ${hour} does not exist`;
  if (minute > 59) return `is not a real time: minute ${minute} does not exist`;
  if (second > 59) return `is not a real time: second ${second} does not exist`;
  const ts = { year, month, day, hour, minute, second, fraction, offsetMinutes };
  return fraction.length > 6 ? roundToMicroseconds(ts) : ts;
}

/**
 * Rounds a fraction of more than 6 digits to microseconds exactly as PostgreSQL 15 does
 * (ParseFractionalSecond: `rint(strtod(".fraction") * 1e6)`, in doubles, ties to even), carrying into
 * the second, minute, ... and day: `23:59:59.9999996` is midnight of the next day.
 */
function roundToMicroseconds(ts: CivilTimestamp): CivilTimestamp {
  const scaled = Number(`0.${ts.fraction}`) * 1e6;
  let micros = Math.round(scaled);
  if (micros - scaled === 0.5 && micros % 2 !== 0) micros--; // Math.round rounds ties up; rint to even
  if (micros < 1_000_000) {
    const fraction = String(micros).padStart(6, '0').replace(/0+$/, '');
    return { ...ts, fraction };
  }
  const seconds =
    (daysFromCivil(ts.year, ts.month, ts.day) * 24 + ts.hour) * 3600 + ts.minute * 60 + ts.second + 1;
  const days = Math.floor(seconds / 86400);
  const secondOfDay = seconds - days * 86400;
  return {
    ...civilFromDays(days),
    hour: Math.floor(secondOfDay / 3600),
    minute: Math.floor((secondOfDay % 3600) / 60),
    second: secondOfDay % 60,
    fraction: '',
    offsetMinutes: ts.offsetMinutes,
  };
}

/**
 * Why PostgreSQL would read text that is not Sluice's ISO form, but Sluice does not store it: a BC date,
 * a special word (infinity, epoch, now, ...), a five-digit year. Undefined for anything else.
 */
export function whyNotStored(text: string, type: string): string | undefined {
  if (BC_MARK.test(text)) return 'is a BC date: Sluice stores years 1-9999 AD only';
  const word = SPECIAL_WORD.exec(text)?.[1]?.toLowerCase();
  if (word?.endsWith('infinity')) return `is not a ${type}: Sluice stores years 1-9999, not ${word}`;
  if (word) return `is not a ${type}: "${word}" depends on the clock or a convention; write the date itself`;
  if (LONG_YEAR.test(text)) return 'has a five-digit year: Sluice stores years 1-9999';
  return undefined;
}

/** `DDDD-DD-DD` at the start of text (digits and dashes only; the caller checks the length). */
function isDashedDate(text: string): boolean {
  return (
    text.charCodeAt(4) === 45 &&
    text.charCodeAt(7) === 45 &&
    allDigits(text, 0, 4) &&
    allDigits(text, 5, 2) &&
    allDigits(text, 8, 2)
  );
}

/** ` DD:DD:DD` (or `T`/`t` for the space) at offset 10. */
function isClock(text: string): boolean {
  const separator = text.charCodeAt(10);
  return (
    (separator === 32 || separator === 84 || separator === 116) &&
    text.charCodeAt(13) === 58 &&
    text.charCodeAt(16) === 58 &&
    allDigits(text, 11, 2) &&
    allDigits(text, 14, 2) &&
    allDigits(text, 17, 2)
  );
}

function allDigits(text: string, from: number, count: number): boolean {
  for (let i = from; i < from + count; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** The number spelled by `count` ASCII digits at `from` (checked by allDigits first). */
function digits(text: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) n = n * 10 + (text.charCodeAt(i) - 48);
  return n;
}

/** The same instant in UTC (offset 0); a timestamp without an offset is taken as UTC already. */
export function toUtc(ts: CivilTimestamp): CivilTimestamp {
  if (!ts.offsetMinutes) return ts.offsetMinutes === 0 ? ts : { ...ts, offsetMinutes: 0 };
  const total = daysFromCivil(ts.year, ts.month, ts.day) * 1440 + ts.hour * 60 + ts.minute - ts.offsetMinutes;
  const days = Math.floor(total / 1440);
  const minuteOfDay = total - days * 1440;
  const date = civilFromDays(days);
  return {
    ...date,
    hour: Math.floor(minuteOfDay / 60),
    minute: minuteOfDay % 60,
    second: ts.second,
    fraction: ts.fraction,
    offsetMinutes: 0,
  };
}

/** `YYYY-MM-DD`. */
export function formatIsoDate(date: CivilDate): string {
  return `${pad(date.year, 4)}-${pad(date.month, 2)}-${pad(date.day, 2)}`;
}

/** `YYYY-MM-DD<separator>HH:MM:SS[.fraction]`, without an offset. */
export function formatIsoTimestamp(ts: CivilTimestamp, separator: ' ' | 'T'): string {
  const time = `${pad(ts.hour, 2)}:${pad(ts.minute, 2)}:${pad(ts.second, 2)}`;
  return `${formatIsoDate(ts)}${separator}${time}${ts.fraction ? `.${ts.fraction}` : ''}`;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}
