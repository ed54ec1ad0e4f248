import * as z from 'zod';

/**
 * One chunk of a file source: what goes into ChunkDescriptor.source (small JSON). The range starts
 * and ends on record boundaries, so a chunk worker reads exactly its records and nobody else's.
 * (A type, not an interface, so it is assignable to ChunkDescriptor's `Record<string, unknown>`.)
 */
export type FileChunkSource = {
  /** The object, as listed (key relative to the source location). */
  key: string;
  etag: string;
  size: number;
  /** Byte range [start, end) on record boundaries; the whole file for gzip. */
  start: number;
  end: number;
  compression: 'gzip' | 'none';
  format: 'csv' | 'jsonl' | 'json';
  /** CSV column names: the file's header line, or config.csv.columns. */
  header?: string[];
  /** 1-based physical line number where the range starts (for reject locations). */
  firstLine: number;
};

/** Validates a ChunkDescriptor.source back into a FileChunkSource (chunk workers get it as JSON). */
export const fileChunkSourceSchema = z.strictObject({
  key: z.string().min(1),
  etag: z.string(),
  size: z.number().int().min(0),
  start: z.number().int().min(0),
  end: z.number().int().min(0),
  compression: z.enum(['gzip', 'none']),
  format: z.enum(['csv', 'jsonl', 'json']),
  header: z.array(z.string()).optional(),
  firstLine: z.number().int().min(1),
}) satisfies z.ZodType<FileChunkSource>;

/** A matched file that this run reads (not skipped): the caller bookmarks these when the run commits. */
export interface PlannedFile {
  key: string;
  etag: string;
  size: number;
  /** SHA-256 of the whole file, when the plan read it whole (uncompressed CSV and JSON Lines). */
  sha256?: string;
}

export interface PlannedFiles {
  /** In file key order, then byte order. `bytes` estimates uncompressed input (gzip: compressed × 5). */
  chunks: { bytes: number; source: FileChunkSource }[];
  /** Every matched file not skipped, including header-only or empty ones (zero chunks). */
  files: PlannedFile[];
  /** Matched files skipped because `alreadyLoaded` said so. */
  skipped: number;
}
