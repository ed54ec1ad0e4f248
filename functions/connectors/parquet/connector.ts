import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import {
  type AsyncBuffer,
  type Compressors,
  type FileMetaData,
  parquetMetadataAsync,
  parquetReadObjects,
  parquetSchema,
} from 'hyparquet';
import * as z from 'zod';
import { globToRegExp, literalPrefix } from '../../sdk/glob.js';
import type { Row, SourceRecord, Storage } from '../../sdk/index.js';
import {
  type DiscoveredColumn,
  defineSource,
  flattenBatches,
  type PlannedChunk,
  type SourceUnit,
} from '../../sdk/source.js';
import { EXACT_PARSERS, exactReading } from './values.js';

export const parquetSourceConfig = z.strictObject({
  /** A local folder (relative to the spec file) or s3://bucket/prefix. */
  location: z.string().min(1),
  /** Glob on the object key below location. */
  pattern: z.string().min(1).default('**/*.parquet'),
  /** Columns to read. @default all */
  columns: z.array(z.string().min(1)).min(1).optional(),
});
export type ParquetSourceConfig = z.infer<typeof parquetSourceConfig>;

/** Rows per batch handed to the engine (a row group can hold a million). */
const BATCH_ROWS = 1024;

/** A chunk: one row group of one file version. */
interface ParquetChunk {
  key: string;
  etag: string;
  size: number;
  rowGroup: number;
  rowStart: number;
  rowEnd: number;
}

/** SNAPPY and UNCOMPRESSED are built into hyparquet; GZIP and BROTLI come from node:zlib (native). */
const BUILT_IN_COMPRESSORS: Compressors = {
  GZIP: (input) => new Uint8Array(gunzipSync(input)),
  BROTLI: (input) => new Uint8Array(brotliDecompressSync(input)),
};
let allCompressors: Promise<Compressors> | undefined;

/**
 * The decompressors a file needs. ZSTD, LZ4 (Hadoop framing, with the raw-block fallback Arrow uses)
 * and LZ4_RAW come from hyparquet-compressors (hyparquet's own, MIT; ZSTD through fzstd), as Node 20's
 * zlib has no zstd; it is imported only for a file that uses them (its import costs ~250 ms).
 */
function compressorsFor(metadata: FileMetaData): Promise<Compressors> | Compressors {
  const needsPackage = metadata.row_groups.some((group) =>
    group.columns.some((c) => ['ZSTD', 'LZ4', 'LZ4_RAW'].includes(c.meta_data?.codec ?? '')),
  );
  if (!needsPackage) return BUILT_IN_COMPRESSORS;
  allCompressors ??= import('hyparquet-compressors').then((p) => ({
    ...BUILT_IN_COMPRESSORS,
    ZSTD: (input: Uint8Array) => p.decompressZstd(input),
    LZ4: p.decompressLz4,
    LZ4_RAW: p.decompressLz4Raw,
  }));
  return allCompressors;
}

/**
 * Parquet files in a folder or under an S3 prefix, read with hyparquet: each row group is a chunk,
 * read by byte ranges (only its column chunks are fetched). Incremental by file, like `files`: a file
 * (key + ETag) loaded by an earlier run is skipped, and the bookmark moves in the commit.
 */
export default defineSource<ParquetSourceConfig>({
  name: 'parquet',
  description: 'Parquet files in a folder or under an s3:// prefix; one chunk per row group',
  configSchema: parquetSourceConfig,
  cannotBackfill: () =>
    'parquet files are loaded once each by bookmark (key + ETag), not by a cursor window; use --full-refresh to reload every file',

  async discover(ctx) {
    const storage = ctx.openStorage(ctx.config.location);
    const first = (await listMatching(storage, ctx.config.pattern))[0];
    if (!first) return [];
    const metadata = await parquetMetadataAsync(storageBuffer(storage, first.key, first.etag, first.size));
    return [{ name: first.key, columns: columnsOf(metadata, ctx.config.columns) }];
  },

  async plan(ctx) {
    if (ctx.backfill)
      throw new Error(
        '--backfill needs a cursor; the parquet source is incremental by file (use --full-refresh to reload)',
      );
    const storage = ctx.openStorage(ctx.config.location);
    const chunks: PlannedChunk[] = [];
    const units: SourceUnit[] = [];
    let skipped = 0;
    let columns: { key: string; list: DiscoveredColumn[] } | undefined;
    for (const file of await listMatching(storage, ctx.config.pattern)) {
      if (ctx.alreadyLoaded({ key: file.key, etag: file.etag })) {
        skipped++;
        continue;
      }
      let metadata: FileMetaData;
      try {
        metadata = await parquetMetadataAsync(storageBuffer(storage, file.key, file.etag, file.size));
      } catch (err) {
        throw new Error(
          `${storage.url}/${file.key} is not a readable Parquet file: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      units.push({ key: file.key, etag: file.etag, size: file.size });
      // The run's columns come from the footers of the files it reads, which must agree.
      const fileColumns = columnsOf(metadata, ctx.config.columns);
      if (!columns) columns = { key: file.key, list: fileColumns };
      else assertSameColumns(columns, file.key, fileColumns);
      let row = 0;
      metadata.row_groups.forEach((group, i) => {
        const rows = Number(group.num_rows);
        const chunk: ParquetChunk = { ...file, rowGroup: i, rowStart: row, rowEnd: row + rows };
        chunks.push({ bytes: Number(group.total_byte_size), source: { ...chunk } });
        row += rows;
      });
    }
    return { chunks, units, skipped, ...(columns ? { columns: columns.list } : {}) };
  },

  read(chunk, ctx) {
    return flattenBatches(this.readBatches!(chunk, ctx));
  },

  /** The row group's rows, decoded at once by hyparquet, handed over in batches of BATCH_ROWS. */
  async *readBatches(chunk, ctx): AsyncGenerator<SourceRecord[]> {
    const source = chunk.source as unknown as ParquetChunk;
    const storage = ctx.openStorage(ctx.config.location);
    const file = storageBuffer(storage, source.key, source.etag, source.size);
    const original = await parquetMetadataAsync(file);
    const exact = exactReading(original);
    const rows = await parquetReadObjects({
      file,
      metadata: exact.metadata,
      rowStart: source.rowStart,
      rowEnd: source.rowEnd,
      compressors: await compressorsFor(original),
      parsers: EXACT_PARSERS,
      utf8: false,
      ...(ctx.config.columns ? { columns: ctx.config.columns } : {}),
    });
    for (let start = 0; start < rows.length; start += BATCH_ROWS) {
      yield rows.slice(start, start + BATCH_ROWS).map((row, i) => ({
        kind: 'row' as const,
        row: plainRow(exact.convertRow(row)),
        location: `${source.key} row ${source.rowStart + start + i + 1}`,
      }));
    }
  },
});

async function listMatching(storage: Storage, pattern: string) {
  const matches = globToRegExp(pattern);
  const files: { key: string; etag: string; size: number }[] = [];
  for await (const info of storage.list(literalPrefix(pattern))) {
    if (matches.test(info.key)) files.push({ key: info.key, etag: info.etag, size: info.size });
  }
  if (files.length === 0) throw new Error(`no file under ${storage.url} matches "${pattern}"`);
  return files;
}

/** hyparquet's AsyncBuffer over storage byte ranges, pinned to the planned version (ETag). */
function storageBuffer(storage: Storage, key: string, etag: string, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end?: number) {
      const bytes = await storage.readBytes(key, { start, end: end ?? size }, { ifMatch: etag });
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
}

/** JSON-friendly values the validators read: bigint as text, bytes as base64 (dates are text already). */
function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(plainValue);
  // A struct's null field is null in the JSON (undefined would drop its key).
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainValue(v) ?? null]));
  return value;
}

function plainRow(row: Record<string, unknown>): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) out[k] = plainValue(v);
  return out;
}

/** Files of one run must have the same columns (names, any order): else a named error, not NULLs. */
function assertSameColumns(
  first: { key: string; list: DiscoveredColumn[] },
  key: string,
  columns: DiscoveredColumn[],
): void {
  const known = new Set(first.list.map((c) => c.name));
  const here = new Set(columns.map((c) => c.name));
  const added = [...here].filter((n) => !known.has(n));
  const lacking = [...known].filter((n) => !here.has(n));
  if (added.length === 0 && lacking.length === 0) return;
  const names = (list: string[]) => list.map((n) => `"${n}"`).join(', ');
  throw new Error(
    `${key}: its columns differ from ${first.key}'s: it ${[
      added.length > 0 ? `has ${names(added)} that ${first.key} has not` : '',
      lacking.length > 0 ? `lacks ${names(lacking)}` : '',
    ]
      .filter(Boolean)
      .join(
        ' and ',
      )}. Files of one run must have the same columns: load them in separate runs (narrow \`pattern\`)`,
  );
}

function columnsOf(metadata: FileMetaData, only: string[] | undefined): DiscoveredColumn[] {
  const tree = parquetSchema(metadata);
  return tree.children
    .filter((c) => !only || only.includes(c.element.name))
    .map((c) => ({
      name: c.element.name,
      type: destinationType(c.element),
      nullable: c.element.repetition_type !== 'REQUIRED',
    }));
}

/**
 * The footer's type as a destination type, exact: DECIMAL keeps its precision and scale, a TIMESTAMP
 * adjusted to UTC is timestamptz and a local (wall-clock) one timestamp.
 */
function destinationType(e: FileMetaData['schema'][number]): string {
  const logical = e.logical_type;
  if (logical?.type === 'TIMESTAMP') return logical.isAdjustedToUTC ? 'timestamptz' : 'timestamp';
  if (logical?.type === 'DATE' || e.converted_type === 'DATE') return 'date';
  if (logical?.type === 'DECIMAL') return decimalType(logical.precision, logical.scale);
  if (e.converted_type === 'DECIMAL') return decimalType(e.precision, e.scale);
  if (logical?.type === 'STRING' || e.converted_type === 'UTF8') return 'text';
  if (logical?.type === 'JSON' || e.converted_type === 'JSON') return 'jsonb';
  if (logical?.type === 'UUID') return 'uuid';
  switch (e.type) {
    case 'BOOLEAN':
      return 'boolean';
    case 'INT32':
      return 'integer';
    case 'INT64':
      return 'bigint';
    case 'FLOAT':
      return 'real';
    case 'DOUBLE':
      return 'double precision';
    default:
      return e.num_children ? 'jsonb' : 'text';
  }
}

/** numeric(p,s) when the footer states a usable precision, else numeric. */
function decimalType(precision: number | undefined, scale: number | undefined): string {
  if (precision === undefined || precision < 1 || precision > 1000) return 'numeric';
  const s = scale ?? 0;
  return s >= 0 && s <= precision ? `numeric(${precision},${s})` : 'numeric';
}
