import { JSONParser, TokenType } from '@streamparser/json';
import type { Row, SourceRecord, Storage } from '../../sdk/index.js';
import { gunzip, stripBom } from './byte-streams.js';
import { SourceError } from './errors.js';
import { describeObject } from './plan.js';
import type { FileChunkSource } from './types.js';

/**
 * `format: json`: a file holding one top-level JSON array of records, read as a stream with
 * @streamparser/json (each element is emitted and dropped as soon as it is complete, so memory stays
 * at one record, whatever the file's size). A file is one chunk: an array cannot be entered in the
 * middle. An element that is not an object is an unparseable record located `key:[index]`; a file that
 * is not an array, or that stops being JSON, fails the chunk naming the file and where.
 */

/** Records handed over at once. */
const BATCH_RECORDS = 512;

export async function* readJsonArrayBatches(
  storage: Storage,
  chunk: FileChunkSource,
): AsyncGenerator<SourceRecord[]> {
  const where = describeObject(storage, chunk.key);
  const raw = await storage.read(chunk.key, undefined, { ifMatch: chunk.etag });
  const bytes = stripBom(chunk.compression === 'gzip' ? gunzip(raw, where) : raw);
  let pending: SourceRecord[] = [];
  let index = 0;
  let sawArray = false;
  const parser = new JSONParser({ paths: ['$.*'], keepStack: false });
  parser.onToken = ({ token, value }) => {
    if (sawArray) return;
    // The first token says what the file holds; then the tokenizer is left to the value parser.
    if (token !== TokenType.LEFT_BRACKET)
      throw new SourceError(
        `${where}: format json needs a top-level JSON array of records, found ${JSON.stringify(value)} first (use format jsonl for one object per line)`,
      );
    sawArray = true;
  };
  parser.onValue = ({ value }) => {
    const location = `${chunk.key}:[${index++}]`;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
      pending.push({
        kind: 'unparseable',
        raw: JSON.stringify(value),
        location,
        reason: `is ${what}, not a JSON object`,
      });
      return;
    }
    pending.push({ kind: 'row', row: value as Row, location });
  };
  for await (const piece of bytes) {
    try {
      parser.write(piece);
    } catch (err) {
      if (err instanceof SourceError) throw err;
      throw new SourceError(`${where}: invalid JSON after record [${index - 1}]: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (pending.length >= BATCH_RECORDS) {
      yield pending;
      pending = [];
    }
  }
  if (!sawArray && index === 0) {
    if (pending.length > 0) yield pending;
    return; // an empty file holds no records
  }
  if (!parser.isEnded)
    throw new SourceError(
      `${where}: the JSON array is not closed (the file ends after record [${index - 1}])`,
    );
  if (pending.length > 0) yield pending;
}
