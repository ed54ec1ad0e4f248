import { type FileMetaData, parquetMetadataAsync, parquetSchema } from 'hyparquet';
import * as z from 'zod';
import { globToRegExp, literalPrefix } from '../../sdk/glob.js';
import type { SourceRecord, Storage } from '../../sdk/index.js';
import {
  type DiscoveredColumn,
  defineSource,
  flattenBatches,
  type PlannedChunk,
  type SourceUnit,
} from '../../sdk/source.js';
import { type ParquetChunk, planRowGroupChunks, readParquetChunk, storageBuffer } from './read.js';

export const parquetSourceConfig = z.strictObject({
  /** A local folder (relative to the spec file) or s3://bucket/prefix. */
  location: z.string().min(1),
  /** Glob on the object key below location. */
  pattern: z.string().min(1).default('**/*.parquet'),
  /** Columns to read. @default all */
  columns: z.array(z.string().min(1)).min(1).optional(),
});
export type ParquetSourceConfig = z.infer<typeof parquetSourceConfig>;

/**
 * Parquet files in a folder or under an S3 prefix, read with hyparquet: a chunk is a run of whole row
 * groups of one file (as many as fit chunking.targetBytes), read a row group at a time by byte ranges
 * (only its column chunks are fetched). Incremental by file, like `files`: a file
 * (key + ETag) loaded by an earlier run is skipped, and the bookmark moves in the commit.
 */
export default defineSource<ParquetSourceConfig>({
  name: 'parquet',
  description: 'Parquet files in a folder or under an s3:// prefix; chunks of whole row groups',
  configSchema: parquetSourceConfig,
  cannotBackfill: () =>
    'parquet files are loaded once each by bookmark (key + ETag), not by a cursor window; use --full-refresh to reload every file',
  // S3 in the stage's region, through the VPC's gateway endpoint (another region's bucket is not supported).
  network: () => ({ access: 'none', ports: [] }),

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
      chunks.push(...planRowGroupChunks(file, metadata, ctx.targetBytes));
    }
    return { chunks, units, skipped, ...(columns ? { columns: columns.list } : {}) };
  },

  read(chunk, ctx) {
    return flattenBatches(this.readBatches!(chunk, ctx));
  },

  /** The chunk's row groups one at a time, in batches (see read.ts): never the whole chunk in memory. */
  readBatches(chunk, ctx): AsyncGenerator<SourceRecord[]> {
    const storage = ctx.openStorage(ctx.config.location);
    return readParquetChunk(storage, chunk.source as unknown as ParquetChunk, ctx.config.columns);
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
