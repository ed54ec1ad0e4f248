/**
 * Partition units of a range-partitioned target: pure date arithmetic and naming, no database.
 * A unit is named by its first day, `YYYY-MM-DD`, in UTC; weeks start on Monday (ISO weeks).
 */

import { calendarProblem, civilFromDays, daysFromCivil } from '../validate/calendar.js';

export type PartitionBy = 'day' | 'week' | 'month' | 'year';

/** The partition column and unit of a partitioned destination. */
export interface Partitioning {
  column: string;
  by: PartitionBy;
}

/**
 * The destination's partitioning, for code that only runs on partitioned targets (partitions exist
 * only there); an unpartitioned destination reaching it is a bug, said loudly.
 */
export function partitioningOf(dest: {
  table: string;
  partitioning?: Partitioning | undefined;
}): Partitioning {
  if (!dest.partitioning)
    throw new Error(`internal: ${dest.table} has no partitioning, but partition code was reached for it`);
  return dest.partitioning;
}

/** PostgreSQL truncates longer identifiers, which would make two partitions collide. */
export const MAX_IDENTIFIER_LENGTH = 63;

/** A unit start: four digits of year (a bound may reach 10000-01-01, the end of year 9999's units). */
const DAY_PATTERN = /^(\d{4,5})-(\d{2})-(\d{2})$/;

/**
 * Days since 1970-01-01 of a `YYYY-MM-DD` unit start. Plain integer arithmetic, no `Date.UTC`: that
 * maps years 0-99 to 1900-1999, which made a valid date in year 0099 fail the whole commit.
 */
function parseDay(day: string): number {
  const m = DAY_PATTERN.exec(day);
  if (!m) throw new Error(`not a partition unit start (YYYY-MM-DD): ${JSON.stringify(day)}`);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const date = Number(m[3]);
  if (year < 1 || year > 10000 || calendarProblem(Math.min(year, 9999), month, date))
    throw new Error(`not a calendar date: ${day}`);
  return daysFromCivil(year, month, date);
}

function formatDay(days: number): string {
  const { year, month, day } = civilFromDays(days);
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** The unit start of a day count since 1970-01-01. */
function unitStartOfDays(days: number, by: PartitionBy): number {
  switch (by) {
    case 'day':
      return days;
    case 'week':
      // 1970-01-01 was a Thursday: Monday is 3 days before.
      return days - ((((days + 3) % 7) + 7) % 7);
    case 'month': {
      const { year, month } = civilFromDays(days);
      return daysFromCivil(year, month, 1);
    }
    case 'year':
      return daysFromCivil(civilFromDays(days).year, 1, 1);
  }
}

/** First day of the unit that contains `instant` (UTC). */
export function unitStartOf(instant: Date, by: PartitionBy): string {
  return formatDay(unitStartOfDays(Math.floor(instant.getTime() / 86_400_000), by));
}

/** The unit start `n` units after (or before, when negative) the unit starting at `start`. */
export function shiftUnitStart(start: string, by: PartitionBy, n: number): string {
  const days = parseDay(start);
  switch (by) {
    case 'day':
      return formatDay(days + n);
    case 'week':
      return formatDay(days + 7 * n);
    case 'month': {
      const { year, month } = civilFromDays(days);
      const index = year * 12 + (month - 1) + n;
      return formatDay(daysFromCivil(Math.floor(index / 12), (index % 12) + 1, 1));
    }
    case 'year':
      return formatDay(daysFromCivil(civilFromDays(days).year + n, 1, 1));
  }
}

/** Exclusive upper bound of the unit starting at `start`. */
export function nextUnitStart(start: string, by: PartitionBy): string {
  return shiftUnitStart(start, by, 1);
}

/** `p20240115` (day, week: the Monday), `p202401` (month), `p2024` (year). */
export function partitionSuffix(start: string, by: PartitionBy): string {
  parseDay(start);
  // Only an end bound reaches year 10000; no row of years 1-9999 starts a unit there.
  if (start.length !== 10) throw new Error(`not a partition unit start in years 1-9999: ${start}`);
  const digits = start.replaceAll('-', '');
  switch (by) {
    case 'day':
    case 'week':
      return `p${digits}`;
    case 'month':
      return `p${digits.slice(0, 6)}`;
    case 'year':
      return `p${digits.slice(0, 4)}`;
  }
}

/** Keeps `<table>_<suffix>` within 63 characters by shortening the table part, never the suffix. */
function withSuffix(table: string, suffix: string): string {
  return `${table.slice(0, MAX_IDENTIFIER_LENGTH - suffix.length - 1)}_${suffix}`;
}

/** Name of the partition of `table` for the unit starting at `start`, e.g. `orders_p202401`. */
export function partitionName(table: string, start: string, by: PartitionBy): string {
  return withSuffix(table, partitionSuffix(start, by));
}

/** `<table>_default`: the partition for rows no range partition covers. */
export function defaultPartitionName(table: string): string {
  return withSuffix(table, 'default');
}

/** Reads the unit start back from a partition name Sluice made; undefined for any other name. */
export function unitStartFromPartitionName(table: string, name: string, by: PartitionBy): string | undefined {
  const digits = by === 'year' ? 4 : by === 'month' ? 6 : 8;
  const prefix = table.slice(0, MAX_IDENTIFIER_LENGTH - digits - 2); // as withSuffix: "_p" + digits
  if (!name.startsWith(`${prefix}_p`)) return undefined;
  const rest = name.slice(prefix.length + 2);
  if (!new RegExp(`^\\d{${digits}}$`).test(rest)) return undefined;
  const start = `${rest.slice(0, 4)}-${rest.slice(4, 6) || '01'}-${rest.slice(6, 8) || '01'}`;
  try {
    parseDay(start);
  } catch {
    return undefined;
  }
  if (by === 'week' && formatDay(unitStartOfDays(parseDay(start), 'week')) !== start) return undefined;
  return start;
}

/** Partition column types; bounds are written for the column's type, timestamptz bounds in UTC. */
export type PartitionColumnType = 'date' | 'timestamp' | 'timestamptz';

/**
 * SQL literal of a unit boundary for a partition bound (`FOR VALUES FROM (…)`), where params cannot
 * be used. Safe to inline: it is built only from a validated `YYYY-MM-DD`.
 */
export function boundLiteral(day: string, type: PartitionColumnType): string {
  parseDay(day);
  switch (type) {
    case 'date':
      return `'${day}'`;
    case 'timestamp':
      return `'${day} 00:00:00'`;
    case 'timestamptz':
      return `'${day} 00:00:00+00'`;
  }
}

/**
 * SQL expression of a value's unit start as a timestamp, matching {@link unitStartOf}: timestamptz
 * values are cut in UTC, whatever the session's time zone. Group by this and format the groups with
 * `to_char(…, 'YYYY-MM-DD')` afterwards: to_char on every row was half of the commit's unit scan.
 */
export function unitTruncExpression(columnSql: string, type: PartitionColumnType, by: PartitionBy): string {
  const asTimestamp =
    type === 'date'
      ? `${columnSql}::timestamp`
      : type === 'timestamptz'
        ? `(${columnSql} AT TIME ZONE 'UTC')`
        : columnSql;
  return `date_trunc('${by}', ${asTimestamp})`;
}

export function asPartitionColumnType(type: string): PartitionColumnType {
  if (type === 'date' || type === 'timestamp' || type === 'timestamptz') return type;
  throw new Error(`partition column must be date, timestamp or timestamptz, not ${type}`);
}
