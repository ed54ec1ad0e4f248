/**
 * Exact Parquet values for the validators: hyparquet's defaults turn DECIMAL into a JS number (17
 * significant digits: `123456789012345678.91` became `123456789012345680`) and timestamps and dates
 * into `Date` (milliseconds: `.123456` became `.123`; a DATE became a timestamp string). Here DECIMAL
 * arrives as its exact decimal text, TIMESTAMP (millis, micros, nanos, and legacy INT96) and DATE as
 * ISO 8601 text with every digit the file holds, computed with integers.
 *
 * hyparquet 1.31 has parsers for timestamps and dates but none for DECIMAL, so {@link exactReading}
 * hands hyparquet a copy of the footer's schema with the DECIMAL annotation removed (it then returns
 * the stored integer: INT32 number, INT64 bigint, or big-endian bytes) and scales those integers
 * here. INT64 TIMESTAMP and INT32 DATE annotations are removed the same way and their text is made
 * per row as rows are made, not for a whole row group at once when it is decoded: a decoded group's
 * timestamps as text took 2.5× the memory of their integers (issue 15). Reading with `utf8: false` keeps those bytes raw; unannotated BYTE_ARRAY columns are marked
 * UTF8 in the copy, so they still arrive as text, as they did with hyparquet's default.
 */
import type { FileMetaData, ParquetParsers, SchemaElement, SchemaTree } from 'hyparquet';
import { parquetSchema } from 'hyparquet';
import { civilFromDays } from '../../shared/civil-date.js';

const NANOS_PER_DAY = 86_400_000_000_000n;

/** Timestamp and date parsers that keep every digit (no `Date`, no time zone). */
export const EXACT_PARSERS: Partial<ParquetParsers> = {
  timestampFromMilliseconds: (millis) => timestampText(BigInt(millis) * 1_000_000n, 3),
  timestampFromMicroseconds: (micros) => timestampText(BigInt(micros) * 1_000n, 6),
  // Nine digits as stored: the timestamp validator rounds them to microseconds as PostgreSQL does.
  timestampFromNanoseconds: (nanos) => timestampText(BigInt(nanos), 9),
  dateFromDays: (days) => isoDate(Number(days)),
};

/** `YYYY-MM-DD HH:MM:SS[.fraction]` of nanoseconds since 1970-01-01 (UTC), `digits` of fraction at most. */
export function timestampText(nanos: bigint, digits: 3 | 6 | 9): string {
  let days = nanos / NANOS_PER_DAY;
  let ofDay = nanos % NANOS_PER_DAY;
  if (ofDay < 0n) {
    days -= 1n;
    ofDay += NANOS_PER_DAY;
  }
  const seconds = Number(ofDay / 1_000_000_000n);
  const fraction = (ofDay % 1_000_000_000n).toString().padStart(9, '0').slice(0, digits).replace(/0+$/, '');
  const time = `${pad(Math.floor(seconds / 3600), 2)}:${pad(Math.floor(seconds / 60) % 60, 2)}:${pad(seconds % 60, 2)}`;
  return `${isoDate(Number(days))} ${time}${fraction ? `.${fraction}` : ''}`;
}

/** `YYYY-MM-DD` of days since 1970-01-01; years outside 1-9999 are written as they are (the validator says why). */
export function isoDate(days: number): string {
  const { year, month, day } = civilFromDays(days);
  const y = year < 0 ? `-${pad(-year, 4)}` : pad(year, 4);
  return `${y}-${pad(month, 2)}-${pad(day, 2)}`;
}

/** The exact decimal text of a DECIMAL's stored integer (INT32, INT64 or big-endian two's complement bytes). */
export function decimalText(stored: number | bigint | Uint8Array, scale: number): string {
  let unscaled: bigint;
  if (stored instanceof Uint8Array) {
    unscaled = 0n;
    for (const byte of stored) unscaled = (unscaled << 8n) | BigInt(byte);
    if (stored.length > 0 && (stored[0]! & 0x80) !== 0) unscaled -= 1n << BigInt(stored.length * 8);
  } else {
    unscaled = BigInt(stored);
  }
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString();
  if (scale <= 0) return `${negative ? '-' : ''}${digits}${'0'.repeat(-scale)}`;
  const padded = digits.padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
}

/** How to read a file exactly: the footer to hand hyparquet, and the conversion of each decoded row. */
export interface ExactReading {
  metadata: FileMetaData;
  convertRow(row: Record<string, unknown>): Record<string, unknown>;
}

type Convert = (value: unknown) => unknown;

/**
 * See the file header: a footer copy without DECIMAL, INT64 TIMESTAMP and INT32 DATE annotations, and
 * the row conversion that makes their exact text.
 */
export function exactReading(original: FileMetaData): ExactReading {
  const lazy = new Map<SchemaElement, Convert>();
  // hyparquet keeps a VARIANT's binary fields as bytes; they must not be marked as text.
  const inVariant = new Set<SchemaElement>();
  const collectVariant = (node: SchemaTree, inside: boolean) => {
    const here = inside || node.element.logical_type?.type === 'VARIANT';
    if (here) inVariant.add(node.element);
    for (const child of node.children) collectVariant(child, here);
  };
  collectVariant(parquetSchema(original), false);
  const schema = original.schema.map((element, i) => {
    if (i === 0 || inVariant.has(element)) return element;
    if (element.converted_type === 'DECIMAL' || element.logical_type?.type === 'DECIMAL') {
      const scale =
        element.logical_type?.type === 'DECIMAL' ? element.logical_type.scale : (element.scale ?? 0);
      const { converted_type: _c, logical_type: _l, ...rest } = element;
      const raw: SchemaElement = rest;
      lazy.set(raw, (v) => decimalText(v as number | bigint | Uint8Array, scale));
      return raw;
    }
    const later = laterText(element);
    if (later) {
      const { converted_type: _c, logical_type: _l, ...rest } = element;
      const raw: SchemaElement = rest;
      lazy.set(raw, later);
      return raw;
    }
    if (element.type === 'BYTE_ARRAY' && !element.converted_type && !element.logical_type) {
      return { ...element, converted_type: 'UTF8' as const };
    }
    return element;
  });
  const metadata: FileMetaData = { ...original, schema };
  const tree = parquetSchema(metadata);
  const converters: [string, Convert][] = [];
  for (const child of tree.children) {
    const convert = converterFor(child, lazy);
    if (convert) converters.push([child.element.name, convert]);
  }
  return {
    metadata,
    convertRow(row) {
      for (const [name, convert] of converters) {
        const value = row[name];
        if (value !== undefined && value !== null) row[name] = convert(value);
      }
      return row;
    },
  };
}

/** The conversion a (possibly nested) column needs, or undefined when hyparquet's value is already exact. */
function converterFor(node: SchemaTree, lazy: Map<SchemaElement, Convert>): Convert | undefined {
  const own = lazy.get(node.element);
  if (own) return own;
  if (node.children.length === 0) return undefined;
  const element = listElement(node);
  if (element) {
    const convert = converterFor(element, lazy);
    return convert && ((v) => (Array.isArray(v) ? v.map((x) => (x == null ? x : convert(x))) : v));
  }
  const value = mapValue(node);
  if (value) {
    const convert = converterFor(value, lazy);
    return convert && ((v) => mapValues(v, convert));
  }
  const fields: [string, Convert][] = [];
  for (const child of node.children) {
    const convert = converterFor(child, lazy);
    if (convert) fields.push([child.element.name, convert]);
  }
  if (fields.length === 0) return undefined;
  return (v) => {
    if (v === null || typeof v !== 'object') return v;
    const struct = v as Record<string, unknown>;
    for (const [name, convert] of fields) {
      const field = struct[name];
      if (field !== undefined && field !== null) struct[name] = convert(field);
    }
    return struct;
  };
}

/**
 * The text of an INT64 TIMESTAMP (millis, micros, nanos) or INT32 DATE, made from its stored integer
 * (as EXACT_PARSERS would make it), or undefined for any other element.
 */
function laterText(element: SchemaElement): Convert | undefined {
  const logical = element.logical_type;
  if (element.type === 'INT64') {
    const unit =
      logical?.type === 'TIMESTAMP'
        ? logical.unit
        : element.converted_type === 'TIMESTAMP_MILLIS'
          ? 'MILLIS'
          : element.converted_type === 'TIMESTAMP_MICROS'
            ? 'MICROS'
            : undefined;
    if (unit === 'MILLIS') return (v) => timestampText(BigInt(v as bigint) * 1_000_000n, 3);
    if (unit === 'MICROS') return (v) => timestampText(BigInt(v as bigint) * 1_000n, 6);
    if (unit === 'NANOS') return (v) => timestampText(BigInt(v as bigint), 9);
  }
  if (element.type === 'INT32' && (logical?.type === 'DATE' || element.converted_type === 'DATE'))
    return (v) => isoDate(Number(v));
  return undefined;
}

/** The element node of a LIST as hyparquet assembles it (a 3-level list's inner group skipped). */
function listElement(node: SchemaTree): SchemaTree | undefined {
  if (node.element.converted_type !== 'LIST' || node.children.length !== 1) return undefined;
  const repeated = node.children[0]!;
  if (repeated.element.repetition_type !== 'REPEATED' || repeated.children.length > 1) return undefined;
  return repeated.children.length === 1 ? repeated.children[0] : repeated;
}

/** The value node of a MAP (hyparquet assembles a map into an object). */
function mapValue(node: SchemaTree): SchemaTree | undefined {
  if (node.element.converted_type !== 'MAP' || node.children.length !== 1) return undefined;
  const entries = node.children[0]!;
  if (entries.element.repetition_type !== 'REPEATED' || entries.children.length !== 2) return undefined;
  return entries.children.find((c) => c.element.name === 'value');
}

function mapValues(value: unknown, convert: Convert): unknown {
  if (value === null || typeof value !== 'object') return value;
  const map = value as Record<string, unknown>;
  for (const key of Object.keys(map)) {
    const v = map[key];
    if (v !== undefined && v !== null) map[key] = convert(v);
  }
  return map;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}
