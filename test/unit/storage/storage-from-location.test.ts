import path from 'node:path';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { FolderStorage, storageFromLocation } from '../../../functions/adapters/storage/index.js';
import { openS3Lazily } from '../../../functions/adapters/storage/lazy-s3.js';
import { S3Storage } from '../../../functions/adapters/storage/s3.js';

describe('storageFromLocation', () => {
  const client = new S3Client({ region: 'eu-west-1' });
  const openS3 = (bucket: string, prefix: string) => new S3Storage({ client, bucket, prefix });

  it('maps s3://bucket/prefix to the S3 storage openS3 gives for that bucket and prefix', () => {
    const storage = storageFromLocation('s3://acme-raw/orders/2026', { openS3 });

    expect(storage).toBeInstanceOf(S3Storage);
    expect(storage.url).toBe('s3://acme-raw/orders/2026/');
    expect(storageFromLocation('s3://acme-raw', { openS3 }).url).toBe('s3://acme-raw/');
  });

  it('openS3Lazily: the same storage, its SDK client loaded and created on first use', async () => {
    const s3 = mockClient(S3Client);
    try {
      s3.on(HeadObjectCommand).resolves({ ETag: '"e1"', ContentLength: 3, LastModified: new Date(0) });
      const storage = storageFromLocation('s3://acme-raw/orders/2026', { openS3: openS3Lazily });

      expect(storage).not.toBeInstanceOf(FolderStorage);
      expect(storage.url).toBe('s3://acme-raw/orders/2026/');
      expect(openS3Lazily('acme-raw', '').url).toBe('s3://acme-raw/');
      expect(openS3Lazily('acme-raw', 'x/').url).toBe('s3://acme-raw/x/');
      expect(await storage.head('day-1.csv')).toMatchObject({ key: 'day-1.csv', size: 3 });
      expect(s3.commandCalls(HeadObjectCommand)[0]!.args[0].input).toEqual({
        Bucket: 'acme-raw',
        Key: 'orders/2026/day-1.csv',
      });
    } finally {
      s3.restore();
    }
  });

  it('resolves a relative folder against baseDir (the spec file folder)', () => {
    const storage = storageFromLocation('data/orders', { baseDir: '/work/pipelines', openS3 });

    expect(storage).toBeInstanceOf(FolderStorage);
    expect(storage.url).toBe(path.resolve('/work/pipelines/data/orders'));
    const allowed = { baseDir: '/work', allowedRoots: ['/abs'], openS3 };
    expect(storageFromLocation('/abs/in', allowed).url).toBe(path.resolve('/abs/in'));
    expect(storageFromLocation('file:///abs/in', allowed).url).toBe(path.resolve('/abs/in'));
  });

  it('fails for other URL schemes', () => {
    expect(() => storageFromLocation('gs://bucket/x', { openS3 })).toThrow(
      'unsupported location gs://bucket/x',
    );
  });
});
