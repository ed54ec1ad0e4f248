/**
 * Partition units of a range-partitioned target: pure date arithmetic and naming, no database.
 * A unit is named by its first day, `YYYY-MM-DD`, in UTC; weeks start on Monday (ISO weeks).
 */

export type PartitionBy = 'day' | 'week' | 'month' | 'year';

/** PostgreSQL truncates longer identifiers, which would make two partitions collide. */
export const MAX_IDENTIFIER_LENGTH = 63;

const DAY_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseDay(day: string): Date {
  const m = DAY_PATTERN.exec(day);
  if (!m) throw new Error(`not a partition unit start (YYYY-MM-DD): ${JSON.stringify(day)}`);
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  if (date.toISOString().slice(0, 10) !== day) throw new Error(`not a calendar date: ${day}`);
  return date;
}

function formatDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** First day of the unit that contains `instant` (UTC). */
export function unitStartOf(instant: Date, by: PartitionBy): string {
  const y = instant.getUTCFullYear();
  const m = instant.getUTCMonth();
  const d = instant.getUTCDate();
  switch (by) {
    case 'day':
      return formatDay(new Date(Date.UTC(y, m, d)));
    case 'week': {
      const mondayOffset = (instant.getUTCDay() + 6) % 7;
      return formatDay(new Date(Date.UTC(y, m, d - mondayOffset)));
    }
    case 'month':
      return formatDay(new Date(Date.UTC(y, m, 1)));
    case 'year':
      return formatDay(new Date(Date.UTC(y, 0, 1)));
  }
}

/** The unit start `n` units after (or before, when negative) the unit starting at `start`. */
export function shiftUnitStart(start: string, by: PartitionBy, n: number): string {
  const date = parseDay(start);
  const y = date.getUTCFullYear();
  const m = date.getUTCMonth();
  const d = date.getUTCDate();
  switch (by) {
    case 'day':
      return formatDay(new Date(Date.UTC(y, m, d + n)));
    case 'week':
      return formatDay(new Date(Date.UTC(y, m, d + 7 * n)));
    case 'month':
      return formatDay(new Date(Date.UTC(y, m + n, 1)));
    case 'year':
      return formatDay(new Date(Date.UTC(y + n, 0, 1)));
  }
}

/** Exclusive upper bound of the unit starting at `start`. */
export function nextUnitStart(start: string, by: PartitionBy): string {
  return shiftUnitStart(start, by, 1);
}

/** `p20240115` (day, week: the Monday), `p202401` (month), `p2024` (year). */
export function partitionSuffix(start: string, by: PartitionBy): string {
  parseDay(start);
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
  if (by === 'week' && unitStartOf(parseDay(start), 'week') !== start) return undefined;
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
