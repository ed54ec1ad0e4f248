import { formatIsoTimestamp, parseIsoTimestamp, toUtc } from './calendar.js';
import { describeValue } from './describe-value.js';
import { type ColumnCheck, Invalid } from './invalid.js';

/**
 * timestamp, timestamptz: ISO 8601 text (`YYYY-MM-DD HH:MM:SS[.ffffff]`, `T` or a space, seconds and
 * fraction optional, a date alone meaning midnight), checked against the real calendar and clock.
 *
 * Offsets: a value with an offset is converted to UTC for both types (PostgreSQL would silently drop
 * the offset for `timestamp`). A value without an offset is taken as UTC; for `timestamptz` it is
 * written with an explicit `+00`, so the session's TimeZone setting never shifts it.
 */
export function compileTimestampCheck(type: 'timestamp' | 'timestamptz'): ColumnCheck {
  const suffix = type === 'timestamptz' ? '+00' : '';
  return (value) => {
    if (typeof value !== 'string') {
      return new Invalid(`value ${describeValue(value)} is not an ISO 8601 timestamp (YYYY-MM-DD HH:MM:SS)`);
    }
    const parsed = parseIsoTimestamp(value);
    if (typeof parsed === 'string') return new Invalid(`value ${describeValue(value)} ${parsed}`);
    // Exactly `YYYY-MM-DD HH:MM:SS` (it parsed, 19 characters, separators in place, so no whitespace
    // and no offset) is its own canonical form: skip formatting, the hot path of most files.
    if (
      value.length === 19 &&
      value.charCodeAt(4) === 45 &&
      value.charCodeAt(10) === 32 &&
      value.charCodeAt(13) === 58 &&
      value.charCodeAt(16) === 58 &&
      parsed.year >= 1
    )
      return value + suffix;
    const utc = toUtc(parsed);
    if (utc.year < 1 || utc.year > 9999) {
      return new Invalid(
        `value ${describeValue(value)} is out of range for ${type}: year ${utc.year} in UTC`,
      );
    }
    return formatIsoTimestamp(utc, ' ') + suffix;
  };
}
