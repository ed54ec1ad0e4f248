// The Storage port: object storage as the engine needs it (a folder and S3 implement it).
import type { Readable } from 'node:stream';

/** What a listing says about one object; `etag` identifies its content (S3 ETag, or an MD5 for folders). */
export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

/** Byte range, inclusive start and exclusive end. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Options of a read. */
export interface ReadOptions {
  /**
   * Fail with ObjectChangedError unless the object's etag is this one, so a chunk planned on one
   * version of a file is never read from another. S3 checks it atomically (If-Match); the folder twin
   * compares the MD5 it computes (cached per path, size and mtime).
   */
  ifMatch?: string;
}

/**
 * Object storage as the engine needs it. Two twins implement it: a local folder and S3.
 * Keys are always '/'-separated and relative to the storage's root; they never escape it.
 */
export interface Storage {
  /** Human-readable location for messages, e.g. `s3://bucket/prefix` or `/abs/folder`. */
  readonly url: string;
  /** Every object whose key starts with prefix, in key order. */
  list(prefix?: string): AsyncIterable<ObjectInfo>;
  /** Metadata of one object, or undefined when it does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Streams an object, or a byte range of it. Fails with NotFoundError when it does not exist. */
  read(key: string, range?: ByteRange, options?: ReadOptions): Promise<Readable>;
  /** Reads an object (or range) fully into memory: for small things (manifests, samples, a Parquet footer). */
  readBytes(key: string, range?: ByteRange, options?: ReadOptions): Promise<Buffer>;
  /** Writes an object atomically: readers see the old object or the whole new one. */
  write(key: string, body: Buffer | string | Readable): Promise<void>;
  /** Deletes every object under prefix; missing objects are not an error. */
  deletePrefix(prefix: string): Promise<void>;
}

export class NotFoundError extends Error {
  constructor(readonly location: string) {
    super(`not found: ${location}`);
    this.name = 'NotFoundError';
  }
}

/** The object is not the version the caller expected (its etag changed since it was listed). */
export class ObjectChangedError extends Error {
  constructor(
    readonly location: string,
    readonly expectedEtag: string,
    readonly actualEtag: string | undefined,
  ) {
    super(
      `${location} changed since it was listed: etag ${actualEtag ?? '(unknown)'}, expected ${expectedEtag}`,
    );
    this.name = 'ObjectChangedError';
  }
}
