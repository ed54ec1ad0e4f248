import type { Readable } from 'node:stream';
import type { ByteRange, ObjectInfo, ReadOptions, Storage } from '../../engine/ports/storage.js';
import type { S3Opener } from './index.js';
import { s3StorageUrl } from './keys.js';

/**
 * S3 storage for local runs, opened on first use: the SDK client is ~110 ms of module loading that a
 * run reading a folder should not pay at start-up. (Lambdas construct S3Storage directly: a dynamic
 * import would make esbuild keep the whole S3 client in their bundles.)
 */
export const openS3Lazily: S3Opener = (bucket, prefix) =>
  new LazyStorage(s3StorageUrl(bucket, prefix), async () => {
    const { createS3Client, S3Storage } = await import('./s3.js');
    return new S3Storage({ client: createS3Client(), bucket, prefix });
  });

/** A storage opened on first use. */
class LazyStorage implements Storage {
  private opened?: Promise<Storage>;

  constructor(
    readonly url: string,
    private readonly open: () => Promise<Storage>,
  ) {}

  private storage(): Promise<Storage> {
    this.opened ??= this.open();
    return this.opened;
  }

  async *list(prefix?: string): AsyncIterable<ObjectInfo> {
    yield* (await this.storage()).list(prefix);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    return (await this.storage()).head(key);
  }

  async read(key: string, range?: ByteRange, options?: ReadOptions): Promise<Readable> {
    return (await this.storage()).read(key, range, options);
  }

  async readBytes(key: string, range?: ByteRange, options?: ReadOptions): Promise<Buffer> {
    return (await this.storage()).readBytes(key, range, options);
  }

  async write(key: string, body: Buffer | string | Readable): Promise<void> {
    return (await this.storage()).write(key, body);
  }

  async deletePrefix(prefix: string): Promise<void> {
    return (await this.storage()).deletePrefix(prefix);
  }
}
