import { fileURLToPath } from 'node:url';
import { confineLocalLocation } from '../../engine/ports/local-location.js';
import type { Storage } from '../../engine/ports/storage.js';
import { FolderStorage } from './folder.js';

export {
  allowedRootsFromEnv,
  confineLocalLocation,
  LocationNotAllowedError,
} from '../../engine/ports/local-location.js';
export * from '../../engine/ports/storage.js';
export { FolderStorage } from './folder.js';
export { InvalidKeyError } from './keys.js';

export interface StorageFromLocationOptions {
  /**
   * Folder that relative locations resolve against (the spec file's folder); a local location must stay
   * inside its tree (symlinks resolved) or inside one of `allowedRoots`. @default - process.cwd()
   */
  baseDir?: string;
  /** More folders local locations may point into (SLUICE_ALLOWED_ROOTS, see allowedRootsFromEnv). @default - none */
  allowedRoots?: readonly string[];
  /**
   * False where baseDir is not a spec's folder: runs in AWS start from a published spec (baseDir '/'),
   * so only `allowedRoots` may hold a local location there. @default true
   */
  baseDirIsRoot?: boolean;
  /**
   * Opens `s3://bucket/prefix`: a Lambda passes its S3Storage (`new S3Storage({ client, bucket, prefix })`),
   * a local run `openS3Lazily` (lazy-s3.ts), which loads the SDK only when a location is on S3.
   */
  openS3: S3Opener;
}

/** Opens the S3 storage rooted at `s3://bucket/prefix`. */
export type S3Opener = (bucket: string, prefix: string) => Storage;

/**
 * The storage a location names: `s3://bucket/prefix` is an S3Storage; a path or `file://` URL is a
 * folder (relative paths resolve against baseDir), refused with LocationNotAllowedError when it lies
 * outside baseDir's tree and every allowed root.
 *
 * @example
 * storageFromLocation('data/orders', { baseDir: path.dirname(specFile), openS3: openS3Lazily });
 * storageFromLocation('s3://acme-raw/orders/', { openS3: (bucket, prefix) => new S3Storage({ client, bucket, prefix }) });
 */
export function storageFromLocation(location: string, opts: StorageFromLocationOptions): Storage {
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (s3) return opts.openS3(s3[1]!, s3[2] ?? '');
  const folder = location.startsWith('file://') ? fileURLToPath(location) : location;
  if (folder === location && /^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new Error(`unsupported location ${location}: use a folder path or s3://bucket/prefix`);
  }
  const confined = confineLocalLocation(folder, {
    baseDir: opts.baseDir ?? process.cwd(),
    allowedRoots: opts.allowedRoots ?? [],
    baseDirIsRoot: opts.baseDirIsRoot ?? true,
  });
  return new FolderStorage(confined);
}
