import { daysFromCivil } from '../../shared/civil-date.js';

/**
 * PostgreSQL's binary COPY format (`COPY … FROM STDIN (FORMAT binary)`) for the validator's output:
 * each value arrives as the canonical text `compileRowValidator` writes for its column type, and is
 * written as the type's binary send form, so the server skips the type input functions (about half of
 * a text COPY's server CPU into a staging table, bench/copy-format.ts). A value that is not the
 * canonical text of its type is refused with an error naming the column: it would mean the validator
 * and this encoder disagree, and a guess here would load a wrong value.
 */

/** The 11-byte signature, then flags (0) and the header extension length (0). */
const HEADER = Buffer.from([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
]);
/** A field count of -1 ends the data. */
const TRAILER = Buffer.from([0xff, 0xff]);

/** PostgreSQL's epoch for date and timestamp: 2000-01-01, in days since 1970-01-01. */
const PG_EPOCH_DAYS = daysFromCivil(2000, 1, 1);
const CANONICAL_INTEGER = /^-?\d+$/;
const CANONICAL_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(\+00)?$/;
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NUMERIC_NEG = 0x4000;

/** Writes one field's bytes (without its length word) at `writer.used`; the caller frames it. */
type FieldWriter = (writer: BinaryCopyBuffer, text: string, column: string) => void;

/** A value the encoder cannot write as its column's binary form: the validator let through text it should not have. */
export class BinaryCopyValueError extends Error {
  constructor(column: string, type: string, value: string) {
    super(
      `column "${column}": value ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)} is not canonical ${type} text, so it cannot be written as binary COPY`,
    );
    this.name = 'BinaryCopyValueError';
  }
}

/**
 * `buffer.write(text, offset, 'utf8')` without its argument checks (a tenth of a chunk's time, one call
 * per row): Node's own `utf8Write`, which `write` calls, when this Node has it.
 */
export const utf8Write: (buffer: Buffer, text: string, offset: number) => number =
  typeof (Buffer.prototype as { utf8Write?: unknown }).utf8Write === 'function'
    ? (buffer, text, offset) => (buffer as unknown as NodeUtf8Write).utf8Write(text, offset)
    : (buffer, text, offset) => buffer.write(text, offset, 'utf8');

interface NodeUtf8Write {
  utf8Write(text: string, offset: number): number;
}

const VARCHAR = /^varchar\(\d+\)$/;
const NUMERIC = /^numeric(?:\(\d+(?:,\s*\d+)?\))?$/;

/**
 * The field writer for a destination column type, or undefined for a type without one (`real`: JS can
 * only narrow a parsed double to float4, which can round differently from PostgreSQL's own float4in).
 */
function fieldWriter(type: string): FieldWriter | undefined {
  switch (type) {
    case 'text':
      return writeText;
    case 'smallint':
      return integerWriter(2, -32768, 32767, type);
    case 'integer':
      return integerWriter(4, -2147483648, 2147483647, type);
    case 'bigint':
      return writeBigint;
    case 'double precision':
      return writeDouble;
    case 'boolean':
      return writeBoolean;
    case 'date':
      return writeDate;
    case 'timestamp':
    case 'timestamptz':
      return timestampWriter(type);
    case 'uuid':
      return writeUuid;
    case 'jsonb':
      return writeJsonb;
  }
  if (VARCHAR.test(type)) return writeText;
  if (NUMERIC.test(type)) return writeNumeric;
  return undefined;
}

/** Whether every column type has a binary writer (otherwise the rows go as CSV). */
export function canCopyBinary(types: readonly string[]): boolean {
  return types.every((type) => fieldWriter(type) !== undefined);
}

/**
 * Staged rows as binary COPY, written into a buffer as they come (like the CSV path's StagedBuffer):
 * the header first, then one tuple per `addRow` (the destination columns, then `_sluice_seq integer`
 * and `_sluice_ord bigint`), the trailer on `finish`. `addRow` says when the buffer should be taken.
 */
export class BinaryCopyBuffer {
  buffer: Buffer;
  used = 0;
  private readonly writers: FieldWriter[];
  private readonly fieldCount: number;

  constructor(
    private readonly columns: readonly { name: string; type: string }[],
    private readonly flushBytes = 1 << 20,
  ) {
    this.writers = columns.map(({ name, type }) => {
      const writer = fieldWriter(type);
      if (!writer) throw new Error(`column "${name}": no binary COPY form for type ${type}`);
      return writer;
    });
    this.fieldCount = columns.length + 2;
    this.buffer = Buffer.allocUnsafe(flushBytes + 4096);
    HEADER.copy(this.buffer, 0);
    this.used = HEADER.length;
  }

  /** Appends one tuple; true when the buffer should be taken before the next. */
  addRow(values: readonly (string | null)[], seq: number, ordinal: number): boolean {
    this.ensure(2);
    put16(this.buffer, this.fieldCount, this.used);
    this.used += 2;
    for (let i = 0; i < this.writers.length; i++) {
      const value = values[i];
      if (value === null || value === undefined) {
        this.ensure(4);
        put32(this.buffer, -1, this.used);
        this.used += 4;
        continue;
      }
      // Reserve the length word, write the value, then fill in how long it was.
      const start = this.used;
      this.ensure(4 + value.length * 3 + 32);
      this.used += 4;
      this.writers[i]!(this, value, this.columns[i]!.name);
      put32(this.buffer, this.used - start - 4, start);
    }
    this.ensure(4 + 4 + 4 + 8);
    put32(this.buffer, 4, this.used);
    put32(this.buffer, seq, this.used + 4);
    put32(this.buffer, 8, this.used + 8);
    writeInt64(this.buffer, ordinal, this.used + 12);
    this.used += 20;
    return this.used >= this.flushBytes;
  }

  /** Appends the trailer: no row may follow. */
  finish(): void {
    this.ensure(TRAILER.length);
    TRAILER.copy(this.buffer, this.used);
    this.used += TRAILER.length;
  }

  /** Hands the bytes so far over and starts a fresh buffer (the consumer may still hold the old one). */
  take(): Buffer {
    const taken = this.buffer.subarray(0, this.used);
    this.buffer = Buffer.allocUnsafe(this.flushBytes + 4096);
    this.used = 0;
    return taken;
  }

  /** Makes room for `bytes` more (a row longer than the buffer's slack moves the buffer to a bigger one). */
  ensure(bytes: number): void {
    if (this.used + bytes <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.used + bytes));
    this.buffer.copy(bigger, 0, 0, this.used);
    this.buffer = bigger;
  }
}

/** Big-endian 32 bits of `n` (signed or not) at `at`, without Buffer's argument checks (several per field). */
function put32(buffer: Buffer, n: number, at: number): void {
  buffer[at] = n >>> 24;
  buffer[at + 1] = n >>> 16;
  buffer[at + 2] = n >>> 8;
  buffer[at + 3] = n;
}

/** Big-endian 16 bits of `n` at `at`. */
function put16(buffer: Buffer, n: number, at: number): void {
  buffer[at] = n >>> 8;
  buffer[at + 1] = n;
}

/** A safe integer (|n| < 2^53) as a big-endian int64. */
function writeInt64(buffer: Buffer, n: number, at: number): void {
  const high = Math.floor(n / 0x1_0000_0000);
  put32(buffer, high, at);
  put32(buffer, n - high * 0x1_0000_0000, at + 4);
}

const writeText: FieldWriter = (w, text) => {
  w.used += utf8Write(w.buffer, text, w.used);
};

/** The value of text that is `-?\d+` (at most 15 digits, so exact), or undefined for any other text. */
function plainInteger(text: string): number | undefined {
  const n = text.length;
  const negative = n > 1 && text.charCodeAt(0) === 45;
  let i = negative ? 1 : 0;
  if (n === 0 || n - i > 15) return undefined;
  let value = 0;
  for (; i < n; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    value = value * 10 + c;
  }
  return negative ? -value : value;
}

function integerWriter(bytes: 2 | 4, min: number, max: number, type: string): FieldWriter {
  return (w, text, column) => {
    const n = plainInteger(text);
    if (n === undefined || n < min || n > max) throw new BinaryCopyValueError(column, type, text);
    if (bytes === 2) put16(w.buffer, n, w.used);
    else put32(w.buffer, n, w.used);
    w.used += bytes;
  };
}

const writeBigint: FieldWriter = (w, text, column) => {
  const n = plainInteger(text);
  if (n !== undefined) writeInt64(w.buffer, n, w.used);
  else {
    if (!CANONICAL_INTEGER.test(text)) throw new BinaryCopyValueError(column, 'bigint', text);
    const big = BigInt(text);
    if (big > 9223372036854775807n || big < -9223372036854775808n)
      throw new BinaryCopyValueError(column, 'bigint', text);
    w.buffer.writeBigInt64BE(big, w.used);
  }
  w.used += 8;
};

const writeDouble: FieldWriter = (w, text, column) => {
  // The validator's text is decimal (never NaN or Infinity); Number() rounds it to the nearest double
  // exactly as float8in's strtod does.
  const n = Number(text);
  if (!Number.isFinite(n) || text.trim() !== text || text === '')
    throw new BinaryCopyValueError(column, 'double precision', text);
  w.buffer.writeDoubleBE(n, w.used);
  w.used += 8;
};

const writeBoolean: FieldWriter = (w, text, column) => {
  if (text !== 't' && text !== 'f') throw new BinaryCopyValueError(column, 'boolean', text);
  w.buffer[w.used++] = text === 't' ? 1 : 0;
};

function civilDays(text: string): number {
  return daysFromCivil(digits(text, 0, 4), digits(text, 5, 2), digits(text, 8, 2)) - PG_EPOCH_DAYS;
}

function digits(text: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) n = n * 10 + (text.charCodeAt(i) - 48);
  return n;
}

/** `\d{4}-\d{2}-\d{2}` at the start of text (the validator has checked the calendar). */
function isDashedDate(text: string): boolean {
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return false;
  for (let k = 0; k < DATE_DIGITS.length; k++) {
    const i = DATE_DIGITS[k]!;
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
const DATE_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9];

const writeDate: FieldWriter = (w, text, column) => {
  if (text.length !== 10 || !isDashedDate(text)) throw new BinaryCopyValueError(column, 'date', text);
  put32(w.buffer, civilDays(text), w.used);
  w.used += 4;
};

/** Microseconds fit a double exactly within ±2^53 µs of 2000-01-01 (years 1715-2285). */
const EXACT_SECONDS = 9_000_000_000;

function timestampWriter(type: 'timestamp' | 'timestamptz'): FieldWriter {
  const withZone = type === 'timestamptz';
  return (w, text, column) => {
    const m = text.length === 19 + (withZone ? 3 : 0) ? undefined : CANONICAL_TIMESTAMP.exec(text);
    // The hot path: `YYYY-MM-DD HH:MM:SS` (+`+00`), checked by hand; anything else by the regex.
    if (m === undefined ? !isPlainTimestamp(text, withZone) : !m || (m[8] !== undefined) !== withZone)
      throw new BinaryCopyValueError(column, type, text);
    const seconds =
      civilDays(text) * 86400 + digits(text, 11, 2) * 3600 + digits(text, 14, 2) * 60 + digits(text, 17, 2);
    const micros = m?.[7] === undefined ? 0 : Number(m[7].padEnd(6, '0'));
    if (seconds > -EXACT_SECONDS && seconds < EXACT_SECONDS)
      writeInt64(w.buffer, seconds * 1e6 + micros, w.used);
    // Further out, microseconds pass 2^53 (2.5e17 in year 9999): BigInt keeps them exact.
    else w.buffer.writeBigInt64BE(BigInt(seconds) * 1_000_000n + BigInt(micros), w.used);
    w.used += 8;
  };
}

/** `YYYY-MM-DD HH:MM:SS`, then `+00` when `withZone`, exactly. */
function isPlainTimestamp(text: string, withZone: boolean): boolean {
  if (
    !isDashedDate(text) ||
    text.charCodeAt(10) !== 32 ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58
  )
    return false;
  for (let k = 0; k < CLOCK_DIGITS.length; k++) {
    const i = CLOCK_DIGITS[k]!;
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return !withZone || text.endsWith('+00', 22);
}
const CLOCK_DIGITS = [11, 12, 14, 15, 17, 18];

const writeUuid: FieldWriter = (w, text, column) => {
  if (!CANONICAL_UUID.test(text)) throw new BinaryCopyValueError(column, 'uuid', text);
  w.buffer.write(text.replaceAll('-', ''), w.used, 'hex');
  w.used += 16;
};

const writeJsonb: FieldWriter = (w, text) => {
  // jsonb_recv: a version byte (1), then the JSON text; the server parses it as jsonb_in would.
  w.buffer[w.used++] = 1;
  w.used += utf8Write(w.buffer, text, w.used);
};

/**
 * numeric_send's form: ndigits, weight (of the first base-10000 digit), sign, dscale (decimal digits
 * after the point, as written), then the base-10000 digits without leading or trailing zero groups.
 * The text is the validator's canonical decimal (`-?\d+(\.\d+)?`): NaN and Infinity never reach here.
 */
const writeNumeric: FieldWriter = (w, text, column) => {
  const n = text.length;
  const negative = text.charCodeAt(0) === 45;
  const from = negative ? 1 : 0;
  let point = n;
  for (let i = from; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 && point === n && i > from && i < n - 1) point = i;
    else if (c < 48 || c > 57) throw new BinaryCopyValueError(column, 'numeric', text);
  }
  if (n === from) throw new BinaryCopyValueError(column, 'numeric', text);
  const dscale = point === n ? 0 : n - point - 1;
  const integerDigits = point - from;
  let high = Math.ceil(integerDigits / 4) - 1; // weight of the first group
  let low = -Math.ceil(dscale / 4); // weight of the last group
  while (high >= low && numericGroup(text, point, integerDigits, dscale, high) === 0) high--;
  while (low <= high && numericGroup(text, point, integerDigits, dscale, low) === 0) low++;
  const ndigits = high >= low ? high - low + 1 : 0;
  w.ensure(8 + ndigits * 2);
  const b = w.buffer;
  let at = w.used;
  put16(b, ndigits, at);
  put16(b, ndigits === 0 ? 0 : high, at + 2);
  put16(b, negative && ndigits > 0 ? NUMERIC_NEG : 0, at + 4);
  put16(b, dscale, at + 6);
  at += 8;
  for (let g = high; g >= low; g--) {
    put16(b, numericGroup(text, point, integerDigits, dscale, g), at);
    at += 2;
  }
  w.used = at;
};

/**
 * Base-10000 group `g` of a canonical decimal (the point at `point`): decimal digits 4g..4g+3, where
 * digit 0 is the units, 1 the tens, -1 the tenths; digits outside the text are 0.
 */
function numericGroup(text: string, point: number, integerDigits: number, dscale: number, g: number): number {
  let value = 0;
  for (let k = 4 * g + 3; k >= 4 * g; k--) {
    let digit = 0;
    if (k >= 0 ? k < integerDigits : -k <= dscale)
      digit = text.charCodeAt(k >= 0 ? point - 1 - k : point - k) - 48;
    value = value * 10 + digit;
  }
  return value;
}
