import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import { FolderStorage } from './folder.js';
import { createS3Client, S3Storage } from './s3.js';
import type { Storage } from './types.js';

export { FolderStorage } from './folder.js';
export { InvalidKeyError } from './keys.js';
export { type CreateS3ClientOptions, createS3Client, S3Storage, type S3StorageProps } from './s3.js';
export * from './types.js';

export interface StorageFromLocationOptions {
  /** Folder that relative locations resolve against (the spec file's folder). @default - process.cwd() */
  baseDir?: string;
  /** Client for `s3://` locations. @default - createS3Client() */
  s3Client?: S3Client;
}

/**
 * The storage a location names: `s3://bucket/prefix` is an S3Storage; a path or `file://` URL is a
 * folder (relative paths resolve against baseDir).
 *
 * @example
 * storageFromLocation('data/orders', { baseDir: path.dirname(specFile) });
 * storageFromLocation('s3://acme-raw/orders/', { s3Client });
 */
export function storageFromLocation(location: string, opts: StorageFromLocationOptions = {}): Storage {
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (s3) {
    return new S3Storage({ client: opts.s3Client ?? createS3Client(), bucket: s3[1]!, prefix: s3[2] ?? '' });
  }
  if (location.startsWith('file://')) return new FolderStorage(fileURLToPath(location));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new Error(`unsupported location ${location}: use a folder path or s3://bucket/prefix`);
  }
  return new FolderStorage(path.resolve(opts.baseDir ?? process.cwd(), location));
}
