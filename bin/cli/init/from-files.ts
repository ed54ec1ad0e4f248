// `sluice init --from <folder|file|s3://…>`: which files, which format, which CSV dialect; then a sample.
import { statSync } from 'node:fs';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { gunzipSync, constants as zlib } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { storageFromLocation } from '../../../functions/adapters/storage/index.js';
import { openS3Lazily } from '../../../functions/adapters/storage/lazy-s3.js';
import { filesSourceConfig } from '../../../functions/connectors/files/config.js';
import { csvParseOptions } from '../../../functions/connectors/files/csv-dialect.js';
import { filesConnector } from '../../../functions/connectors/files/source.js';
import { getSourceConnector } from '../../../functions/connectors/registry.js';
import { allowedRootsFromEnv, confineLocalLocation } from '../../../functions/engine/ports/local-location.js';
import type { Storage } from '../../../functions/engine/ports/storage.js';
import { InitRefusal, RESERVED_KEYS } from './errors.js';
import { destinationNames } from './names.js';
import { readSample, type SampleContext, type SourceSample } from './sample.js';

type Format = 'csv' | 'jsonl' | 'json' | 'parquet';
const FORMAT_BY_SUFFIX: [RegExp, Format, string][] = [
  [/\.(csv|tsv|txt)(\.gz)?$/i, 'csv', '*.{csv,tsv,txt}{,.gz}'],
  [/\.(jsonl|ndjson)(\.gz)?$/i, 'jsonl', '*.{jsonl,ndjson}{,.gz}'],
  [/\.json(\.gz)?$/i, 'json', '*.json{,.gz}'],
  [/\.parquet$/i, 'parquet', '*.parquet'],
];
/** Bytes of the first file read to detect the CSV delimiter and header. */
const HEAD_BYTES = 256 * 1024;
const DELIMITERS = [',', ';', '\t', '|'];
/**
 * Header names a spec cannot mention (the files connector refuses empty, repeated and `__proto__`
 * ones; a spec refuses `constructor` and `prototype` as keys, so not even a `rename` can name them):
 * the columns are named in `csv.columns` instead.
 */
const UNREADABLE_NAME = (name: string, i: number, all: readonly string[]) =>
  name.trim() === '' || RESERVED_KEYS.has(name) || all.indexOf(name) !== i;

/** A glob matching exactly this file name. */
function literalGlob(name: string): string {
  return name.replace(/[*?[\]{}\\]/g, '\\$&');
}

/**
 * Where the files are for a spec written at `specDir`: a local path becomes a location relative to the
 * spec (it must lie inside the spec's folder tree or SLUICE_ALLOWED_ROOTS, as a run will check), a
 * single file becomes its folder plus a pattern naming it.
 */
function locate(from: string, specDir: string): { location: string; storage: Storage; file?: string } {
  const s3 = /^s3:\/\/[^/]+/.exec(from);
  if (s3) {
    const isFile = FORMAT_BY_SUFFIX.some(([re]) => re.test(from)) && !from.endsWith('/');
    const location = isFile ? from.slice(0, from.lastIndexOf('/')) : from.replace(/\/+$/, '');
    return {
      location,
      storage: storageFromLocation(location, { openS3: openS3Lazily }),
      ...(isFile ? { file: from.slice(from.lastIndexOf('/') + 1) } : {}),
    };
  }
  const absolute = resolve(from);
  let isFile: boolean;
  try {
    isFile = statSync(absolute).isFile();
  } catch {
    throw new InitRefusal(`--from ${from}: no such file or folder`);
  }
  const folder = isFile ? dirname(absolute) : absolute;
  const location = relative(specDir, folder).split(sep).join('/') || '.';
  try {
    confineLocalLocation(location, { baseDir: specDir, allowedRoots: allowedRootsFromEnv() });
  } catch (err) {
    throw new InitRefusal(
      `--from ${from}: ${(err as Error).message}. Put the data under the spec's folder (e.g. ${relative('.', specDir) || '.'}/data/), ` +
        'write the spec elsewhere with --out, or list the data folder in SLUICE_ALLOWED_ROOTS',
    );
  }
  const storage = storageFromLocation(location, {
    baseDir: specDir,
    allowedRoots: allowedRootsFromEnv(),
    openS3: openS3Lazily,
  });
  return { location, storage, ...(isFile ? { file: basename(absolute) } : {}) };
}

/** The format of the files (one format per folder) and the pattern that matches them. */
async function formatOf(storage: Storage, from: string, file: string | undefined) {
  if (file !== undefined) {
    const known = FORMAT_BY_SUFFIX.find(([re]) => re.test(file));
    if (!known)
      throw new InitRefusal(
        `--from ${from}: cannot tell the format of ${file} (csv, tsv, txt, jsonl, ndjson, json, parquet; optionally .gz)`,
      );
    return { format: known[1], pattern: literalGlob(file), firstKey: file, count: 1 };
  }
  const found = new Map<Format, { pattern: string; keys: string[] }>();
  for await (const info of storage.list('')) {
    if (info.key.includes('/')) continue;
    const known = FORMAT_BY_SUFFIX.find(([re]) => re.test(info.key));
    if (!known) continue;
    const entry = found.get(known[1]) ?? { pattern: known[2], keys: [] };
    entry.keys.push(info.key);
    found.set(known[1], entry);
  }
  if (found.size === 0) {
    throw new InitRefusal(
      `--from ${from}: no csv, tsv, txt, jsonl, ndjson, json or parquet file in ${storage.url}`,
    );
  }
  if (found.size > 1) {
    const list = [...found].map(([f, e]) => `${e.keys.length} ${f}`).join(', ');
    throw new InitRefusal(
      `--from ${from}: the folder holds files of several formats (${list}): point --from at one file, or at a folder of one format`,
    );
  }
  const [[format, entry]] = [...found] as [[Format, { pattern: string; keys: string[] }]];
  return { format, pattern: entry.pattern, firstKey: entry.keys[0]!, count: entry.keys.length };
}

/**
 * The delimiter of a CSV file: of `, ; tab |`, the one that splits the header into the most fields
 * and every following record of the head into as many. None that does (a one-column file) is `,`.
 */
export function detectDelimiter(head: string): string {
  let best = { delimiter: ',', fields: 1 };
  for (const delimiter of DELIMITERS) {
    const records = parseHead(head, delimiter);
    const fields = records[0]?.length ?? 0;
    if (fields > best.fields && records.every((r) => r.length === fields)) best = { delimiter, fields };
  }
  return best.delimiter;
}

/** The complete records of a file's first bytes (the last, maybe cut, line is left out). */
function parseHead(head: string, delimiter: string): string[][] {
  const complete = head.includes('\n') ? head.slice(0, head.lastIndexOf('\n') + 1) : head;
  const config = filesSourceConfig.parse({ location: '.', format: 'csv', csv: { delimiter } });
  try {
    // A malformed record (a stray quote) says nothing about the delimiter: skip it, judge the others.
    return parse(complete, {
      ...csvParseOptions(config),
      to_line: 50,
      skip_records_with_error: true,
    }) as string[][];
  } catch {
    return [];
  }
}

async function readHead(storage: Storage, key: string): Promise<string> {
  const info = await storage.head(key);
  let bytes = await storage.readBytes(key, { start: 0, end: Math.min(info?.size ?? 0, HEAD_BYTES) });
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes, { finishFlush: zlib.Z_SYNC_FLUSH });
  return bytes.toString('utf8').replace(/^\uFEFF/, '');
}

/** Samples files: CSV (delimiter and header detected), JSON Lines, JSON arrays or Parquet. */
export async function sampleFiles(from: string, specDir: string, ctx: SampleContext): Promise<SourceSample> {
  const { location, storage, file } = locate(from, specDir);
  const { format, pattern, firstKey, count } = await formatOf(storage, from, file);
  const described = `${count === 1 ? firstKey : `${count} ${format} files`} in ${location}`;
  const notes: string[] = [];
  const open: SampleContext = { ...ctx, openStorage: () => storage };
  if (format === 'parquet') {
    const config = { location, pattern };
    const sample = await readSample(getSourceConnector('parquet'), config, open);
    const columns = sample.discovered?.columns ?? [];
    return {
      connector: 'parquet',
      config,
      described,
      notes,
      names: columns.map((c) => c.name),
      declared: new Map(columns.map((c) => [c.name, { type: c.type, nullable: c.nullable }])),
      rows: sample.rows,
      unparseable: sample.unparseable,
    };
  }
  const config: Record<string, unknown> = { location, pattern, format };
  if (format === 'csv') {
    const head = await readHead(storage, firstKey);
    const delimiter = detectDelimiter(head);
    const header = parseHead(head, delimiter)[0] ?? [];
    const csv: Record<string, unknown> = {};
    if (delimiter !== ',') {
      csv.delimiter = delimiter;
      notes.push(`delimiter ${JSON.stringify(delimiter)} detected from ${firstKey}`);
    }
    if (header.some(UNREADABLE_NAME)) {
      // Empty, repeated or reserved header names cannot key a row: csv.columns names the columns instead.
      csv.columns = destinationNames(header);
      notes.push(
        `${firstKey} has empty, repeated or reserved column names: csv.columns names the columns instead`,
      );
    }
    if (Object.keys(csv).length > 0) config.csv = csv;
  }
  const sample = await readSample(filesConnector as never, config, open);
  // JSON records need not share their keys: every key of the sample, in first-seen order.
  const names = [
    ...new Set([
      ...(sample.discovered?.columns.map((c) => c.name) ?? []),
      ...sample.rows.flatMap(Object.keys),
    ]),
  ];
  return {
    connector: 'files',
    config,
    described,
    notes,
    names,
    rows: sample.rows,
    unparseable: sample.unparseable,
  };
}
