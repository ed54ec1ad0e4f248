// How a Parquet chunk is planned (a run of whole row groups of one file, bounded by bytes) and read
// (a row group, or a slice of a large one, at a time, handed over 1024 rows at a time).
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import {
  type AsyncBuffer,
  type Compressors,
  type DecodedArray,
  type FileMetaData,
  flatten,
  parquetMetadataAsync,
  parquetRead,
  parquetSchema,
} from 'hyparquet';
import type { Row, SourceRecord, Storage } from '../../sdk/index.js';
import type { PlannedChunk } from '../../sdk/source.js';
import { EXACT_PARSERS, exactReading } from './values.js';

/** Rows per batch handed to the engine. */
const BATCH_ROWS = 1024;

/**
 * A row group bigger than this (uncompressed bytes of the columns read, as its footer says) whose
 * columns have an offset index (page locations) is read a slice of rows at a time, each slice fetching
 * and decoding only its pages. Without an offset index a group is decoded whole: a slice would decode
 * every page it touches from its first byte, and writers such as DuckDB write one page per column
 * chunk, so slicing would decode the whole group once per slice.
 */
export const SLICE_BYTES = 32 << 20;

/** A chunk: whole row groups [rowGroupStart, rowGroupEnd) of one file version, rows [rowStart, rowEnd). */
export interface ParquetChunk {
  key: string;
  etag: string;
  size: number;
  rowGroupStart: number;
  rowGroupEnd: number;
  rowStart: number;
  rowEnd: number;
}

/**
 * A file's chunks: consecutive row groups, as many as fit `targetBytes` of uncompressed data (the
 * footer's `total_byte_size`); a row group bigger than that is a chunk of its own (it is read in slices).
 */
export function planRowGroupChunks(
  file: { key: string; etag: string; size: number },
  metadata: FileMetaData,
  targetBytes: number,
): PlannedChunk[] {
  const chunks: PlannedChunk[] = [];
  let current: { chunk: ParquetChunk; bytes: number } | undefined;
  let row = 0;
  metadata.row_groups.forEach((group, i) => {
    const rows = Number(group.num_rows);
    const bytes = Number(group.total_byte_size);
    if (current && current.bytes + bytes > targetBytes) {
      chunks.push({ bytes: current.bytes, source: { ...current.chunk } });
      current = undefined;
    }
    if (!current)
      current = {
        chunk: { ...file, rowGroupStart: i, rowGroupEnd: i, rowStart: row, rowEnd: row },
        bytes: 0,
      };
    current.chunk.rowGroupEnd = i + 1;
    current.chunk.rowEnd = row + rows;
    current.bytes += bytes;
    row += rows;
  });
  if (current) chunks.push({ bytes: current.bytes, source: { ...current.chunk } });
  return chunks;
}

/**
 * A chunk's rows, one row group at a time (a slice of rows at a time for a group over SLICE_BYTES),
 * decoded column by column by hyparquet and turned into rows BATCH_ROWS at a time: the generator is
 * pulled by the engine (COPY's backpressure), so the next group is fetched only when its rows are wanted.
 */
export async function* readParquetChunk(
  storage: Storage,
  source: ParquetChunk,
  columns: string[] | undefined,
  sliceBytes = SLICE_BYTES,
): AsyncGenerator<SourceRecord[]> {
  const file = storageBuffer(storage, source.key, source.etag, source.size);
  const original = await parquetMetadataAsync(file);
  if (source.rowGroupEnd > original.row_groups.length)
    throw new Error(
      `${source.key} has ${original.row_groups.length} row groups, the plan read up to ${source.rowGroupEnd}: the file changed`,
    );
  const exact = exactReading(original);
  const compressors = await compressorsFor(original);
  let groupStart = 0;
  for (let g = 0; g < source.rowGroupStart; g++) groupStart += Number(original.row_groups[g]!.num_rows);
  if (groupStart !== source.rowStart)
    throw new Error(
      `${source.key}: row group ${source.rowGroupStart} starts at row ${groupStart}, not ${source.rowStart}`,
    );
  for (let g = source.rowGroupStart; g < source.rowGroupEnd; g++) {
    const group = original.row_groups[g]!;
    const groupRows = Number(group.num_rows);
    const sliceRows = rowsPerSlice(group, columns, sliceBytes);
    for (let start = groupStart; start < groupStart + groupRows; start += sliceRows) {
      const end = Math.min(start + sliceRows, groupStart + groupRows);
      const values = await readColumns(file, exact.metadata, compressors, start, end, columns);
      for (let first = start; first < end; first += BATCH_ROWS) {
        const last = Math.min(first + BATCH_ROWS, end);
        const batch: SourceRecord[] = new Array(last - first);
        for (let r = first; r < last; r++) {
          const row: Record<string, unknown> = {};
          for (const column of values) row[column.name] = column.data[r - column.rowStart];
          batch[r - first] = {
            kind: 'row',
            row: plainRow(exact.convertRow(row)),
            location: `${source.key} row ${r + 1}`,
          };
        }
        yield batch;
      }
    }
    groupStart += groupRows;
  }
}

interface ColumnValues {
  name: string;
  /** File row of data[0]. */
  rowStart: number;
  data: DecodedArray;
}

/**
 * The top-level columns' values for file rows [rowStart, rowEnd) (within one row group), as hyparquet
 * decodes them: a column's pages may start before rowStart, so each keeps the file row of its first value.
 */
async function readColumns(
  file: AsyncBuffer,
  metadata: FileMetaData,
  compressors: Compressors,
  rowStart: number,
  rowEnd: number,
  columns: string[] | undefined,
): Promise<ColumnValues[]> {
  const parts = new Map<string, { rowStart: number; chunks: DecodedArray[]; next: number }>();
  await parquetRead({
    file,
    metadata,
    rowStart,
    rowEnd,
    compressors,
    parsers: EXACT_PARSERS,
    utf8: false,
    // Page locations, when the file has them: a slice of a row group fetches and decodes only its pages.
    useOffsetIndex: true,
    ...(columns ? { columns } : {}),
    onChunk: ({ columnName, columnData, rowStart: at }) => {
      const part = parts.get(columnName);
      if (!part) parts.set(columnName, { rowStart: at, chunks: [columnData], next: at + columnData.length });
      else if (at === part.next) {
        part.chunks.push(columnData);
        part.next += columnData.length;
      } else throw new Error(`parquet column ${columnName}: rows ${part.next}… expected, got ${at}…`);
    },
  });
  // In the footer's column order, as hyparquet's own rows have them (onChunk comes as columns finish).
  const out: ColumnValues[] = [];
  for (const name of parquetSchema(metadata).children.map((c) => c.element.name)) {
    const part = parts.get(name);
    if (!part) continue;
    if (part.rowStart > rowStart || part.next < rowEnd)
      throw new Error(
        `parquet column ${name}: decoded rows ${part.rowStart}–${part.next}, rows ${rowStart}–${rowEnd} were asked`,
      );
    out.push({ name, rowStart: part.rowStart, data: flatten(part.chunks) });
  }
  return out;
}

/** Rows decoded at once in a row group: all of them, or slices of about SLICE_BYTES (see above). */
function rowsPerSlice(
  group: FileMetaData['row_groups'][number],
  columns: string[] | undefined,
  sliceBytes: number,
): number {
  const rows = Number(group.num_rows);
  let uncompressed = 0;
  let indexed = true;
  for (const chunk of group.columns) {
    const meta = chunk.meta_data;
    if (!meta || (columns && !columns.includes(meta.path_in_schema[0]!))) continue;
    uncompressed += Number(meta.total_uncompressed_size);
    if (!chunk.offset_index_offset || !chunk.offset_index_length) indexed = false;
  }
  if (!indexed || uncompressed <= sliceBytes) return rows;
  return Math.max(BATCH_ROWS, Math.floor((rows * sliceBytes) / uncompressed));
}

/** hyparquet's AsyncBuffer over storage byte ranges, pinned to the planned version (ETag). */
export function storageBuffer(storage: Storage, key: string, etag: string, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end?: number) {
      const bytes = await storage.readBytes(key, { start, end: end ?? size }, { ifMatch: etag });
      // A buffer of its own (not a slice of Node's pool) is handed over as it is: no second copy.
      if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength)
        return bytes.buffer as ArrayBuffer;
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
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
