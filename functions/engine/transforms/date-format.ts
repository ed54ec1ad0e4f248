import { type CivilTimestamp, calendarProblem } from '../validate/calendar.js';

/**
 * A fast reader for the all-numeric date-fns formats most files use (`dd/MM/yyyy`, `MM/dd/yyyy HH:mm`,
 * `yyyyMMdd`, `yyyy-MM-dd HH:mm:ss.SSS`): one compiled regular expression instead of date-fns's
 * per-call tokenising, about ten times faster. It accepts exactly what date-fns `parse` followed by the
 * round-trip `format` check accepts: two-letter tokens need two digits, one-letter tokens a number
 * without a leading zero. Formats with any other token get undefined, and the caller uses date-fns.
 */
export function compileNumericDateFormat(
  format: string,
): ((text: string) => CivilTimestamp | undefined) | undefined {
  const fields: Field[] = [];
  let pattern = '^';
  for (const [, quoted, letters, , literal] of format.matchAll(FORMAT_PART)) {
    if (quoted !== undefined)
      pattern += escapeRegExp(quoted === "''" ? "'" : quoted.slice(1, -1).replaceAll("''", "'"));
    else if (literal !== undefined) pattern += escapeRegExp(literal);
    else {
      const token = TOKENS[letters!];
      if (!token) return undefined;
      pattern += `(${token.pattern})`;
      fields.push(token.field);
    }
  }
  const regex = new RegExp(`${pattern}$`);
  const count = fields.length;

  return (text) => {
    const m = regex.exec(text);
    if (!m) return undefined;
    let year = 2000;
    let month = 1;
    let day = 1;
    let hour = 0;
    let minute = 0;
    let second = 0;
    let fraction = '';
    for (let i = 0; i < count; i++) {
      const digits = m[i + 1]!;
      switch (fields[i]) {
        case 'year':
          year = Number(digits);
          break;
        case 'month':
          month = Number(digits);
          break;
        case 'day':
          day = Number(digits);
          break;
        case 'hour':
          hour = Number(digits);
          break;
        case 'minute':
          minute = Number(digits);
          break;
        case 'second':
          second = Number(digits);
          break;
        case 'fraction':
          fraction = digits.padEnd(3, '0');
          break;
      }
    }
    if (calendarProblem(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
    return {
      year,
      month,
      day,
      hour,
      minute,
      second,
      fraction: fraction === '000' ? '' : fraction,
      offsetMinutes: undefined,
    };
  };
}

type Field = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'fraction';

/** Quoted text ('' is a quote), a run of one letter (a token), or any other single character. */
const FORMAT_PART = /('(?:[^']|'')*'?)|(([A-Za-z])\3*)|([^A-Za-z'])/g;
const NO_LEADING_ZERO = '0|[1-9]\\d*';

const TOKENS: Record<string, { pattern: string; field: Field } | undefined> = {
  yyyy: { pattern: '\\d{4}', field: 'year' },
  MM: { pattern: '\\d{2}', field: 'month' },
  M: { pattern: NO_LEADING_ZERO, field: 'month' },
  dd: { pattern: '\\d{2}', field: 'day' },
  d: { pattern: NO_LEADING_ZERO, field: 'day' },
  HH: { pattern: '\\d{2}', field: 'hour' },
  H: { pattern: NO_LEADING_ZERO, field: 'hour' },
  mm: { pattern: '\\d{2}', field: 'minute' },
  m: { pattern: NO_LEADING_ZERO, field: 'minute' },
  ss: { pattern: '\\d{2}', field: 'second' },
  s: { pattern: NO_LEADING_ZERO, field: 'second' },
  S: { pattern: '\\d', field: 'fraction' },
  SS: { pattern: '\\d{2}', field: 'fraction' },
  SSS: { pattern: '\\d{3}', field: 'fraction' },
};

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
