import { isUtf8 } from 'node:buffer';
import { type Options as CsvParseOptions, parse } from 'csv-parse/sync';
import type { Row, SourceRecord, Storage } from '../../sdk/index.js';
import { flattenBatches } from '../../sdk/source.js';
import { gunzip, stripBom } from './byte-streams.js';
import type { FilesSourceConfig } from './config.js';
import {
  csvParseOptions,
  isBlankRecord,
  MAX_RECORD_BYTES,
  OVERSIZED_PREVIEW_BYTES,
  recordText,
  scannerOptions,
} from './csv-dialect.js';
import { SourceError } from './errors.js';
import { parseCsvFast } from './fast-csv.js';
import { readJsonArrayBatches } from './json-array.js';
import { describeObject } from './plan.js';
import { RecordScanner } from './record-scanner.js';
import { rowMaker } from './row-maker.js';
import type { FileChunkSource } from './types.js';

/**
 * Reads one planned chunk as records, streaming: rows keyed by column name (CSV values are strings,
 * JSONL values are JSON), and `unparseable` records for what cannot be parsed, each located as
 * `key:line` with the physical line where the record starts. Blank lines are skipped and not counted.
 *
 * Every non-blank record of the range comes out exactly once, as a row or as unparseable, so counts
 * add up. The object must still have the planned etag (else ObjectChangedError).
 *
 * @example
 * for await (const record of readFileChunk(storage, config, chunk.source as FileChunkSource)) { … }
 */
export function readFileChunk(
  storage: Storage,
  config: FilesSourceConfig,
  chunk: FileChunkSource,
): AsyncIterable<SourceRecord> {
  return flattenBatches(readFileChunkBatches(storage, config, chunk));
}

/** readFileChunk a batch at a time: the records of one buffer the storage stream delivered. */
export async function* readFileChunkBatches(
  storage: Storage,
  config: FilesSourceConfig,
  chunk: FileChunkSource,
): AsyncGenerator<SourceRecord[]> {
  if (chunk.format === 'json') {
    yield* readJsonArrayBatches(storage, chunk);
    return;
  }
  const where = describeObject(storage, chunk.key);
  const gzip = chunk.compression === 'gzip';
  if (!gzip && chunk.end <= chunk.start) return;
  const raw = await storage.read(chunk.key, gzip ? undefined : { start: chunk.start, end: chunk.end }, {
    ifMatch: chunk.etag,
  });
  let bytes: AsyncIterable<Buffer> = gzip ? gunzip(raw, where) : raw;
  // Only a range that starts at the file's first byte can hold the BOM (planned ranges start after it).
  if (gzip || chunk.start === 0) bytes = stripBom(bytes);

  let emit: (batch: RecordBatch) => SourceRecord[];
  let encoding: 'utf8' | 'latin1' = 'utf8';
  if (chunk.format === 'csv') {
    if (!chunk.header || chunk.header.length === 0) {
      throw new SourceError(`${where}: the chunk has no column names (plan it with planFileChunks)`);
    }
    encoding = config.csv.encoding;
    const reader = new CsvBatchReader(chunk.key, chunk.header, encoding, csvParseOptions(config));
    emit = (batch) => reader.records(batch);
  } else {
    emit = (batch) => jsonLineRecords(batch, chunk.key);
  }
  // A gzip chunk is the whole file, header included; an uncompressed range starts after it.
  let skipHeader = gzip && chunk.format === 'csv' && config.csv.header;

  const scanner = new RecordScanner(scannerOptions(config));
  for await (const piece of splitRecords(bytes, scanner, chunk.firstLine)) {
    if (piece.kind === 'oversized') {
      yield [oversizedRecord(piece, chunk, encoding)];
      continue;
    }
    let batch = piece;
    if (skipHeader) {
      const header = batch.lines.findIndex(
        (_, i) => !isBlankRecord(batch.bytes, batch.bounds[i], batch.bounds[i + 1]),
      );
      if (header === -1) continue;
      skipHeader = false;
      batch = sliceBatch(batch, header + 1);
    }
    const records = emit(batch);
    if (records.length > 0) yield records;
  }
}

/** Complete records in one buffer: record i is bytes[bounds[i], bounds[i+1]) and starts at line lines[i]. */
interface RecordBatch {
  kind: 'records';
  bytes: Buffer;
  bounds: number[];
  lines: number[];
}

/** A record longer than MAX_RECORD_BYTES: only its start is kept. */
interface OversizedRecord {
  kind: 'oversized';
  preview: Buffer;
  bytes: number;
  line: number;
}

/**
 * Splits a byte stream into batches of whole records, one batch per buffer the stream delivers, so
 * memory stays at one buffer plus one record. A record longer than MAX_RECORD_BYTES is skipped up to
 * its end (for an unclosed CSV quote: the end of the chunk) and reported as oversized.
 */
async function* splitRecords(
  source: AsyncIterable<Buffer>,
  scanner: RecordScanner,
  firstLine: number,
): AsyncGenerator<RecordBatch | OversizedRecord> {
  const ends: number[] = [];
  const endLines: number[] = [];
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let linesBefore = 0; // lines completed before the record in carry
  let oversized: OversizedRecord | undefined;
  for await (const buf of source) {
    ends.length = 0;
    endLines.length = 0;
    scanner.scan(buf, ends, endLines);
    let k = 0;
    let from = 0;
    if (oversized) {
      if (ends.length === 0) {
        oversized.bytes += buf.length;
        continue;
      }
      oversized.bytes += ends[0]!;
      yield oversized;
      oversized = undefined;
      linesBefore = endLines[0]!;
      from = ends[0]!;
      k = 1;
    }
    if (ends.length > k) {
      const lastEnd = ends[ends.length - 1]!;
      const bytes =
        carryBytes > 0 ? Buffer.concat([...carry, buf.subarray(from, lastEnd)]) : buf.subarray(from, lastEnd);
      const bounds = [0];
      const lines: number[] = [];
      for (let j = k; j < ends.length; j++) {
        bounds.push(carryBytes + ends[j]! - from);
        lines.push(firstLine + (j === k ? linesBefore : endLines[j - 1]!));
      }
      yield { kind: 'records', bytes, bounds, lines };
      linesBefore = endLines[ends.length - 1]!;
      carry = [];
      carryBytes = 0;
      from = lastEnd;
    }
    if (from < buf.length) {
      carry.push(buf.subarray(from));
      carryBytes += buf.length - from;
      if (carryBytes > MAX_RECORD_BYTES) {
        oversized = {
          kind: 'oversized',
          preview: Buffer.concat(carry).subarray(0, OVERSIZED_PREVIEW_BYTES),
          bytes: carryBytes,
          line: firstLine + linesBefore,
        };
        carry = [];
        carryBytes = 0;
      }
    }
  }
  if (oversized) yield oversized;
  if (carryBytes > 0) {
    // The last record has no line break (or, in CSV, its quote never closed): it is still a record.
    yield {
      kind: 'records',
      bytes: Buffer.concat(carry),
      bounds: [0, carryBytes],
      lines: [firstLine + linesBefore],
    };
  }
}

function sliceBatch(batch: RecordBatch, from: number): RecordBatch {
  const offset = batch.bounds[from]!;
  return {
    kind: 'records',
    bytes: batch.bytes.subarray(offset),
    bounds: batch.bounds.slice(from).map((b) => b - offset),
    lines: batch.lines.slice(from),
  };
}

function oversizedRecord(
  piece: OversizedRecord,
  chunk: FileChunkSource,
  encoding: 'utf8' | 'latin1',
): SourceRecord {
  const what =
    chunk.format === 'csv'
      ? 'a quoted field that is never closed, probably; the rest of the record (up to the end of the chunk when the quote never closes) is quarantined as this one record'
      : 'the whole line is quarantined as this one record';
  return {
    kind: 'unparseable',
    raw: `${piece.preview.toString(encoding)}… [truncated: ${piece.bytes} bytes in all]`,
    location: `${chunk.key}:${piece.line}`,
    reason: `record is longer than ${MAX_RECORD_BYTES} bytes (${piece.bytes} bytes): ${what}`,
  };
}

/**
 * Parses CSV batches with csv-parse. Fast path: the whole batch is valid UTF-8 and parses cleanly
 * into one record per non-blank scanner record, so records map one to one. Otherwise (invalid UTF-8,
 * a syntax error such as an unbalanced quote) each record is parsed on its own, so one broken record
 * becomes one `unparseable` record with csv-parse's reason and its neighbours still load. An unclosed
 * quote swallows the rest of the chunk into its record (that is how the scanner and the planner read
 * it too), which then fails with csv-parse's "Quote Not Closed": the remaining bytes come out as one
 * unparseable record and no record is lost or counted twice.
 */
class CsvBatchReader {
  /** csv-parse is the slowest step; one record delimiter instead of two makes it ~20% faster. */
  private readonly lfOnly: CsvParseOptions;
  private readonly crlfOnly: CsvParseOptions;
  /** Delimiter and quote char codes when parseCsvFast reads this dialect exactly as csv-parse does. */
  private readonly fast: { delimiter: number; quote: number } | undefined;
  private readonly makeRow: (fields: readonly string[]) => Row;

  constructor(
    private readonly key: string,
    private readonly header: readonly string[],
    private readonly encoding: 'utf8' | 'latin1',
    private readonly options: CsvParseOptions,
  ) {
    this.lfOnly = { ...options, record_delimiter: '\n' };
    this.crlfOnly = { ...options, record_delimiter: '\r\n' };
    const { delimiter, quote, escape: escapeChar } = options;
    this.fast =
      typeof delimiter === 'string' &&
      delimiter.length === 1 &&
      typeof quote === 'string' &&
      quote === escapeChar
        ? { delimiter: delimiter.charCodeAt(0), quote: quote.charCodeAt(0) }
        : undefined;
    this.makeRow = rowMaker(header);
  }

  records(batch: RecordBatch): SourceRecord[] {
    const { bytes, bounds, lines } = batch;
    const count = lines.length;
    const out: SourceRecord[] = [];
    if (this.encoding === 'latin1' || isUtf8(bytes)) {
      let nonBlank = 0;
      let lf = 0;
      let crlf = 0;
      for (let i = 0; i < count; i++) {
        const start = bounds[i]!;
        const end = bounds[i + 1]!;
        if (!isBlankRecord(bytes, start, end)) nonBlank++;
        if (bytes[end - 1] === 0x0a) {
          if (end - 2 >= start && bytes[end - 2] === 0x0d) crlf++;
          else lf++;
        }
      }
      const options = crlf === 0 ? this.lfOnly : lf === 0 ? this.crlfOnly : this.options;
      const text = bytes.toString(this.encoding);
      const parsed =
        (this.fast && parseCsvFast(text, this.fast.delimiter, this.fast.quote)) ?? tryParse(text, options);
      if (parsed && parsed.length === nonBlank) {
        let r = 0;
        for (let i = 0; i < count; i++) {
          if (isBlankRecord(bytes, bounds[i], bounds[i + 1])) continue;
          out.push(this.toRecord(parsed[r++]!, bytes, bounds[i]!, bounds[i + 1]!, lines[i]!));
        }
        return out;
      }
    }
    for (let i = 0; i < count; i++) {
      if (isBlankRecord(bytes, bounds[i], bounds[i + 1])) continue;
      out.push(this.parseOne(bytes.subarray(bounds[i], bounds[i + 1]), lines[i]!));
    }
    return out;
  }

  private parseOne(bytes: Buffer, line: number): SourceRecord {
    const location = `${this.key}:${line}`;
    if (this.encoding === 'utf8' && !isUtf8(bytes)) {
      return { kind: 'unparseable', raw: recordText(bytes, 'utf8'), location, reason: 'invalid UTF-8' };
    }
    const text = bytes.toString(this.encoding);
    let parsed: string[][];
    try {
      parsed = parse(text, this.options);
    } catch (error) {
      // csv-parse counts lines from the record's start; make them file lines.
      const reason = (error as Error).message.replace(
        /\bline (\d+)/g,
        (_, n: string) => `line ${line + Number(n) - 1}`,
      );
      return { kind: 'unparseable', raw: recordText(bytes, this.encoding), location, reason };
    }
    if (parsed.length !== 1) {
      return {
        kind: 'unparseable',
        raw: recordText(bytes, this.encoding),
        location,
        reason: `holds ${parsed.length} CSV records where the quotes say one: a stray quote or escape character?`,
      };
    }
    return this.toRecord(parsed[0]!, bytes, 0, bytes.length, line);
  }

  private toRecord(fields: string[], bytes: Buffer, start: number, end: number, line: number): SourceRecord {
    const location = `${this.key}:${line}`;
    const header = this.header;
    if (fields.length !== header.length) {
      return {
        kind: 'unparseable',
        raw: recordText(bytes.subarray(start, end), this.encoding),
        location,
        reason: `has ${fields.length} field${fields.length === 1 ? '' : 's'}, the header has ${header.length}`,
      };
    }
    return { kind: 'row', row: this.makeRow(fields), location };
  }
}

function tryParse(text: string, options: CsvParseOptions): string[][] | undefined {
  try {
    return parse(text, options);
  } catch {
    return undefined;
  }
}

/** JSON Lines: each non-blank line must be a JSON object. */
function jsonLineRecords(batch: RecordBatch, key: string): SourceRecord[] {
  const { bytes, bounds, lines } = batch;
  const out: SourceRecord[] = [];
  const allUtf8 = isUtf8(bytes);
  for (let i = 0; i < lines.length; i++) {
    const record = bytes.subarray(bounds[i], bounds[i + 1]);
    const location = `${key}:${lines[i]}`;
    const text = recordText(record, 'utf8');
    if (!allUtf8 && !isUtf8(record)) {
      out.push({ kind: 'unparseable', raw: text, location, reason: 'invalid UTF-8' });
      continue;
    }
    if (text.length === 0 || /^\s+$/.test(text)) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      out.push({
        kind: 'unparseable',
        raw: text,
        location,
        reason: `invalid JSON: ${(error as Error).message}`,
      });
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
      out.push({ kind: 'unparseable', raw: text, location, reason: `is ${what}, not a JSON object` });
      continue;
    }
    out.push({ kind: 'row', row: value as Row, location });
  }
  return out;
}
