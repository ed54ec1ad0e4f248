import { createHash, type Hash } from 'node:crypto';
import { globToRegExp, literalPrefix } from '../../sdk/glob.js';
import type { ObjectInfo, Storage } from '../../sdk/index.js';
import type { PreviousUnitVersion } from '../../sdk/source.js';
import { gunzip, hasGzipMagic, peek, replay, stripBom } from './byte-streams.js';
import type { FilesSourceConfig } from './config.js';
import { columnNames, isBlankRecord, MAX_RECORD_BYTES, scannerOptions } from './csv-dialect.js';
import { SourceError } from './errors.js';
import { ChangedFileError, growthStart } from './growth.js';
import { RecordScanner, type RecordScannerOptions } from './record-scanner.js';
import type { FileChunkSource, PlannedFiles } from './types.js';

/**
 * A gzip file is one chunk (a deflate stream cannot be entered in the middle). Its `bytes` estimate,
 * used for routing (Lambda or Fargate) and progress, is the compressed size times this: CSV and JSON
 * text typically compress 4–10×.
 */
export const GZIP_SIZE_FACTOR = 5;

export interface PlanFileChunksOptions {
  /** Target size of a chunk of uncompressed input; a chunk ends at the first record boundary past it. */
  targetBytes: number;
  /** True for files an earlier run loaded (same key and etag): they are skipped and counted. */
  alreadyLoaded: (file: { key: string; etag: string }) => boolean;
  /** Append mode: the version of a changed file an earlier run loaded (see growth.ts). */
  previousVersion?: (key: string) => PreviousUnitVersion | undefined;
}

/**
 * Lists the files of a source and cuts them into chunks of about `targetBytes`, on record boundaries.
 * `storage` is rooted at `config.location` (see storageFromLocation); `config.pattern` matches keys
 * below it. Files are taken in key order. Uncompressed files are read once, from start to end, to find
 * the boundaries (quote-aware for CSV) and their line numbers; gzip files are one chunk each.
 *
 * Fails with SourceError when nothing matches (a missing location lists nothing), or when a CSV header
 * is unusable. "Nothing new" (every match already loaded) is not an error: it plans zero chunks.
 *
 * @example
 * const storage = storageFromLocation(config.location, { baseDir, openS3: openS3Lazily });
 * const plan = await planFileChunks(storage, config, { targetBytes: 32 << 20, alreadyLoaded: (f) => ledger.has(f) });
 */
export async function planFileChunks(
  storage: Storage,
  config: FilesSourceConfig,
  opts: PlanFileChunksOptions,
): Promise<PlannedFiles> {
  if (!(opts.targetBytes > 0))
    throw new RangeError(`targetBytes must be a positive number, got ${opts.targetBytes}`);
  const scanning = scannerOptions(config);
  const matches = globToRegExp(config.pattern);
  const prefix = literalPrefix(config.pattern);
  const planned: PlannedFiles = { chunks: [], files: [], skipped: 0 };
  let listed = 0;
  let matched = 0;
  for await (const info of storage.list(prefix)) {
    listed++;
    if (!matches.test(info.key)) continue;
    matched++;
    if (opts.alreadyLoaded({ key: info.key, etag: info.etag })) {
      planned.skipped++;
      continue;
    }
    const previous = config.changedFiles === 'refuse' ? opts.previousVersion?.(info.key) : undefined;
    const file = await planFile(storage, config, scanning, info, opts.targetBytes, previous);
    planned.files.push({
      key: info.key,
      etag: info.etag,
      size: info.size,
      ...(file.sha256 ? { sha256: file.sha256 } : {}),
    });
    planned.chunks.push(...file.chunks);
  }
  if (matched === 0) {
    const under = `${config.location} (${storage.url}${prefix ? `, below ${prefix}` : ''})`;
    throw new SourceError(
      listed === 0
        ? `no files in ${under}: the location is empty or does not exist`
        : `none of the ${listed} files in ${under} match pattern "${config.pattern}"`,
    );
  }
  return planned;
}

async function planFile(
  storage: Storage,
  config: FilesSourceConfig,
  scanning: RecordScannerOptions,
  info: ObjectInfo,
  targetBytes: number,
  previous: PreviousUnitVersion | undefined,
): Promise<{ chunks: { bytes: number; source: FileChunkSource }[]; sha256?: string }> {
  const where = describeObject(storage, info.key);
  if (info.size === 0) {
    if (previous && previous.size > 0)
      await growthStart(storage, info, previous, where, { gzip: false, format: config.format });
    return { chunks: [], sha256: createHash('sha256').digest('hex') };
  }
  const base = { key: info.key, etag: info.etag, size: info.size, format: config.format };
  const { head, rest, close } = await peek(
    await storage.read(info.key, undefined, { ifMatch: info.etag }),
    2,
  );
  const gzip =
    config.compression === 'gzip' ||
    (config.compression === 'auto' && (info.key.endsWith('.gz') || hasGzipMagic(head)));
  const bytes = replay(head, rest);
  // A changed file (append mode) loads only what it gained, or is refused (growth.ts).
  const grownFrom = previous
    ? await growthStart(storage, info, previous, where, { gzip, format: config.format }).catch(
        (err: unknown) => {
          close();
          throw err;
        },
      )
    : 0;
  const resumeAt = grownFrom > 0 ? grownFrom : undefined;

  if (config.format === 'json') {
    // One top-level array: a file is one chunk (an array cannot be entered in the middle).
    close();
    const source: FileChunkSource = {
      ...base,
      start: 0,
      end: info.size,
      compression: gzip ? 'gzip' : 'none',
      firstLine: 1,
    };
    return { chunks: [{ bytes: gzip ? info.size * GZIP_SIZE_FACTOR : info.size, source }] };
  }

  if (gzip) {
    let header: string[] | undefined;
    if (config.format === 'csv') {
      // Only the header is read now (it names the columns, and a bad one should fail the plan).
      const scan = await scanRecords(gunzip(bytes, where), scanning, {
        readHeader: config.csv.header,
        targetBytes: Number.POSITIVE_INFINITY,
        stopAfterHeader: true,
        where,
      });
      header = columnNames(config, scan.headerRecord, where);
      if (!scan.hasData) return { chunks: [] };
    } else {
      close();
    }
    const source: FileChunkSource = {
      ...base,
      start: 0,
      end: info.size,
      compression: 'gzip',
      header,
      firstLine: 1,
    };
    return { chunks: [{ bytes: info.size * GZIP_SIZE_FACTOR, source }] };
  }

  // The whole file is read here anyway: its hash is bookmarked, so a later version can be checked for growth.
  const hash = createHash('sha256');
  const scan = await scanRecords(hashing(bytes, hash), scanning, {
    readHeader: config.format === 'csv' && config.csv.header,
    targetBytes,
    stopAfterHeader: false,
    where,
    ...(resumeAt !== undefined ? { resumeAt } : {}),
  });
  if (scan.totalBytes !== info.size) {
    throw new SourceError(
      `${where} changed while it was planned: listed ${info.size} bytes, read ${scan.totalBytes}`,
    );
  }
  const header = columnNames(config, scan.headerRecord, where);
  return {
    chunks: scan.ranges.map((range) => ({
      bytes: range.end - range.start,
      source: { ...base, ...range, compression: 'none', header },
    })),
    sha256: hash.digest('hex'),
  };
}

/** The bytes as they pass, fed to a hash. */
async function* hashing(source: AsyncIterable<Buffer>, hash: Hash): AsyncGenerator<Buffer> {
  for await (const buf of source) {
    hash.update(buf);
    yield buf;
  }
}

interface ScanResult {
  /** The first non-blank record, when a header was asked for and the file has one. */
  headerRecord?: Buffer;
  /** Data ranges (after the BOM and header) on record boundaries. */
  ranges: { start: number; end: number; firstLine: number }[];
  totalBytes: number;
  /** Whether any byte follows the header. */
  hasData: boolean;
}

/**
 * One pass over a file's bytes: strips a BOM, takes the header record, and cuts a range each time one
 * reaches targetBytes, at the record boundary that got it there.
 */
async function scanRecords(
  source: AsyncIterable<Buffer>,
  scanning: RecordScannerOptions,
  p: {
    readHeader: boolean;
    targetBytes: number;
    stopAfterHeader: boolean;
    where: string;
    /** Ranges start here (a grown file's new records): it must be a record boundary. */
    resumeAt?: number;
  },
): Promise<ScanResult> {
  const scanner = new RecordScanner(scanning);
  const ends: number[] = [];
  const endLines: number[] = [];
  const bom = { bom: false };
  const result: ScanResult = { ranges: [], totalBytes: 0, hasData: false };
  let offset = -1; // file offset of the current buffer
  let wantHeader = p.readHeader;
  let headerParts: Buffer[] = [];
  let headerLength = 0;
  let chunkStart = 0;
  let chunkLine = 1;
  for await (const buf of stripBom(source, bom)) {
    if (offset < 0) {
      offset = bom.bom ? 3 : 0;
      chunkStart = offset;
    }
    ends.length = 0;
    endLines.length = 0;
    scanner.scan(buf, ends, endLines);
    let i = 0;
    if (wantHeader) {
      let from = 0;
      for (; i < ends.length && wantHeader; i++) {
        const end = ends[i]!;
        headerParts.push(buf.subarray(from, end));
        from = end;
        const record = Buffer.concat(headerParts);
        headerParts = [];
        headerLength = 0;
        chunkStart = offset + end;
        chunkLine = endLines[i]! + 1;
        if (!isBlankRecord(record)) {
          result.headerRecord = record;
          wantHeader = false;
        }
      }
      if (wantHeader) {
        headerParts.push(buf.subarray(from));
        headerLength += buf.length - from;
        if (headerLength > MAX_RECORD_BYTES) {
          throw new SourceError(
            `${p.where}: the header is longer than ${MAX_RECORD_BYTES} bytes; is a quote in it never closed?`,
          );
        }
        offset += buf.length;
        continue;
      }
      if (p.stopAfterHeader) {
        // Peek: if the header's buffer has nothing after it, the next one decides whether data follows.
        if (from < buf.length) {
          result.hasData = true;
          return result;
        }
        offset += buf.length;
        continue;
      }
    } else if (p.stopAfterHeader) {
      if (buf.length > 0) result.hasData = true;
      if (result.hasData) return result;
    }
    for (; i < ends.length; i++) {
      const end = offset + ends[i]!;
      if (p.resumeAt !== undefined && end <= p.resumeAt) {
        // Loaded by an earlier run: the ranges begin after it.
        chunkStart = end;
        chunkLine = endLines[i]! + 1;
        continue;
      }
      if (end - chunkStart >= p.targetBytes) {
        result.ranges.push({ start: chunkStart, end, firstLine: chunkLine });
        chunkStart = end;
        chunkLine = endLines[i]! + 1;
      }
    }
    offset += buf.length;
  }
  result.totalBytes = Math.max(offset, 0);
  if (p.resumeAt !== undefined && chunkStart !== p.resumeAt) {
    throw new ChangedFileError(
      p.where,
      `byte ${p.resumeAt}, where the content loaded before ended, is inside a record (a quoted field spans it)`,
    );
  }
  if (wantHeader && headerParts.length > 0) {
    // A header without a line break at the end of the file: the file is all header.
    const record = Buffer.concat(headerParts);
    if (!isBlankRecord(record)) result.headerRecord = record;
    chunkStart = result.totalBytes;
  }
  if (result.totalBytes > chunkStart) {
    result.ranges.push({ start: chunkStart, end: result.totalBytes, firstLine: chunkLine });
    result.hasData = true;
  }
  return result;
}

/** Where an object is, for messages: the storage location plus the key. */
export function describeObject(storage: Storage, key: string): string {
  return storage.url.endsWith('/') ? `${storage.url}${key}` : `${storage.url}/${key}`;
}
