// `sluice init`: the suggested key, partition column and cursor of an inferred table (pure).

/** One destination column as init sees it. */
export interface InitColumn {
  /** The name in the source (a header, a key, a catalog column). */
  source: string;
  /** The destination identifier. */
  name: string;
  type: string;
  nullable: boolean;
  /** A cast the spec needs first (a date in another layout). */
  cast?: { to: 'date' | 'timestamp'; format: string };
  /** Why the type is what it is, shown as a comment. */
  note?: string;
  /** Non-null values all differ in the sample (or the column is the source's primary key). */
  distinct: boolean;
}

const TEMPORAL = /^(date|timestamp|timestamptz)$/;
const KEY_TYPES = /^(smallint|integer|bigint|uuid|text|varchar\(\d+\)|numeric\(\d+,0\))$/;
const CURSOR_NAME = /^(updated|modified|changed|last_?modified|last_?updated)(_?(at|on|time|date|ts))?$/;
const CREATION_NAME = /(created|inserted|ordered|order_date|event|occurred|booked|date|day|_at$|_on$|time)/;

/**
 * The key to suggest: the source's primary key when it has one, else a non-null column whose sampled
 * values are all distinct, preferring `id`, then `<table>_id` and other `*_id` columns, then `key` /
 * `code` columns, then any integer or uuid column. Undefined when nothing qualifies.
 */
export function suggestKey(
  columns: readonly InitColumn[],
  table: string,
  primaryKey?: readonly string[],
): string[] | undefined {
  if (primaryKey && primaryKey.length > 0) return [...primaryKey];
  const candidates = columns.filter((c) => !c.nullable && c.distinct && KEY_TYPES.test(c.type));
  const rank = (c: InitColumn): number => {
    if (c.name === 'id') return 0;
    if (c.name === `${table}_id`) return 1;
    if (c.name.endsWith('_id')) return 2;
    if (/(^|_)(key|code|uuid|sku|isbn|zip|postcode|postal_code)$/.test(c.name)) return 3;
    if (/^(smallint|integer|bigint|uuid)$/.test(c.type)) return 4;
    return Number.POSITIVE_INFINITY;
  };
  const best = candidates
    .map((c, i) => ({ c, r: rank(c), i }))
    .filter((x) => Number.isFinite(x.r))
    .sort((a, b) => a.r - b.r || a.i - b.i)[0];
  return best ? [best.c.name] : undefined;
}

/** The column an incremental database read should follow: a non-null `updated_at`-like time column. */
export function suggestCursor(columns: readonly InitColumn[]): InitColumn | undefined {
  return columns.find((c) => TEMPORAL.test(c.type) && !c.nullable && CURSOR_NAME.test(c.name));
}

/**
 * The partition column: a non-null date or timestamp column, preferring a date, then one named like a
 * creation or event time, an `updated_at`-like one last and never the cursor (an update would move its
 * row to another partition, and a key including it would load the update as a second row).
 * Undefined when there is none.
 */
export function suggestPartition(columns: readonly InitColumn[], cursor?: string): InitColumn | undefined {
  const candidates = columns.filter((c) => TEMPORAL.test(c.type) && !c.nullable && c.name !== cursor);
  const rank = (c: InitColumn) =>
    (CURSOR_NAME.test(c.name) ? 4 : 0) + (c.type === 'date' ? 0 : 2) + (CREATION_NAME.test(c.name) ? 0 : 1);
  return candidates.map((c, i) => ({ c, r: rank(c), i })).sort((a, b) => a.r - b.r || a.i - b.i)[0]?.c;
}
