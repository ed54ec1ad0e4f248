import { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  type ByteRange,
  NotFoundError,
  ObjectChangedError,
  type ObjectInfo,
  type ReadOptions,
  type Storage,
} from '../../engine/ports/storage.js';
import { checkKey, readAll, s3Prefix, s3StorageUrl } from './keys.js';

export interface S3StorageProps {
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix that is the storage's root, e.g. `staging/` or `raw/orders`. @default - the bucket root */
  readonly prefix?: string;
  /** Keys per ListObjectsV2 page (S3 caps it at 1000). @default 1000 */
  readonly pageSize?: number;
}

/** DeleteObjects takes at most 1000 keys per request. */
const DELETE_BATCH = 1000;

/**
 * Storage on an S3 bucket below an optional prefix. Keys given to and returned by this class are
 * relative to the prefix. ETags are returned without their quotes.
 *
 * @example
 * const storage = new S3Storage({ client: createS3Client(), bucket: 'acme-raw', prefix: 'orders/' });
 */
export class S3Storage implements Storage {
  readonly url: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly pageSize: number;

  constructor(props: S3StorageProps) {
    this.client = props.client;
    this.bucket = props.bucket;
    this.prefix = s3Prefix(props.prefix ?? '');
    this.pageSize = props.pageSize ?? 1000;
    this.url = s3StorageUrl(this.bucket, this.prefix);
  }

  async *list(prefix = ''): AsyncIterable<ObjectInfo> {
    checkKey(prefix, 'prefix');
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          MaxKeys: this.pageSize,
          ContinuationToken: token,
        }),
      );
      for (const o of page.Contents ?? []) {
        // Keys ending in '/' are the console's "folder" markers, not objects.
        if (!o.Key || o.Key.endsWith('/')) continue;
        yield {
          key: o.Key.slice(this.prefix.length),
          size: o.Size ?? 0,
          etag: unquote(o.ETag),
          lastModified: o.LastModified ?? new Date(0),
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const o = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) }));
      return {
        key,
        size: o.ContentLength ?? 0,
        etag: unquote(o.ETag),
        lastModified: o.LastModified ?? new Date(0),
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async read(key: string, range?: ByteRange, options: ReadOptions = {}): Promise<Readable> {
    if (range && range.end <= range.start) return Readable.from([]);
    try {
      const o = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.keyOf(key),
          // HTTP ranges end inclusively; ours end exclusively.
          Range: range ? `bytes=${range.start}-${range.end - 1}` : undefined,
          IfMatch: options.ifMatch === undefined ? undefined : `"${options.ifMatch}"`,
        }),
      );
      if (!(o.Body instanceof Readable))
        throw new Error(`s3 GetObject of ${this.describe(key)} returned no stream`);
      return o.Body;
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError(this.describe(key));
      if (errorName(error) === 'PreconditionFailed' && options.ifMatch !== undefined) {
        throw new ObjectChangedError(this.describe(key), options.ifMatch, undefined);
      }
      // A range that starts at or after the end: S3 answers 416; a folder read returns nothing.
      if (errorName(error) === 'InvalidRange') return Readable.from([]);
      throw error;
    }
  }

  async readBytes(key: string, range?: ByteRange, options?: ReadOptions): Promise<Buffer> {
    return readAll(await this.read(key, range, options));
  }

  async write(key: string, body: Buffer | string | Readable): Promise<void> {
    const Key = this.keyOf(key);
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: body }));
      return;
    }
    // Multipart for streams of unknown length; S3 makes the object visible only when complete.
    await new Upload({ client: this.client, params: { Bucket: this.bucket, Key, Body: body } }).done();
  }

  async deletePrefix(prefix: string): Promise<void> {
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const result = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      batch = [];
      const failed = result.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new Error(
          `could not delete ${failed.length} object(s) under ${this.describe(prefix)}, e.g. ${first.Key}: ${first.Code} ${first.Message}`,
        );
      }
    };
    for await (const o of this.list(prefix)) {
      batch.push(this.prefix + o.key);
      if (batch.length === DELETE_BATCH) await flush();
    }
    await flush();
  }

  private keyOf(key: string): string {
    return this.prefix + checkKey(key);
  }

  private describe(key: string): string {
    return `s3://${this.bucket}/${this.prefix}${key}`;
  }
}

export interface CreateS3ClientOptions {
  /** An S3-compatible endpoint (s3rver, MinIO). @default - AWS S3 (or AWS_ENDPOINT_URL_S3) */
  endpoint?: string;
  /** @default - from the environment; `us-east-1` when an endpoint is given and none is set */
  region?: string;
  /** @default - the default credential chain */
  credentials?: S3ClientConfig['credentials'];
}

/**
 * An S3 client for the storage twin. With a custom endpoint it uses path-style addressing and sends
 * or checks checksums only when S3 requires them: s3rver corrupts streamed uploads otherwise.
 */
export function createS3Client(opts: CreateS3ClientOptions = {}): S3Client {
  const config: S3ClientConfig = {};
  if (opts.region !== undefined) config.region = opts.region;
  if (opts.credentials !== undefined) config.credentials = opts.credentials;
  if (opts.endpoint !== undefined) {
    config.endpoint = opts.endpoint;
    config.forcePathStyle = true;
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
    config.region ??= process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  }
  return new S3Client(config);
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}

function errorName(error: unknown): string | undefined {
  return (error as { name?: string } | undefined)?.name;
}

function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
  return name === 'NoSuchKey' || name === 'NotFound' || (status === 404 && name !== 'NoSuchBucket');
}
