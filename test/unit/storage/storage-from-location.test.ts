import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { FolderStorage, S3Storage, storageFromLocation } from '../../../functions/adapters/storage/index.js';

describe('storageFromLocation', () => {
  const s3Client = new S3Client({ region: 'eu-west-1' });

  it('maps s3://bucket/prefix to S3Storage rooted at the prefix', () => {
    const storage = storageFromLocation('s3://acme-raw/orders/2026', { s3Client });

    expect(storage).toBeInstanceOf(S3Storage);
    expect(storage.url).toBe('s3://acme-raw/orders/2026/');
    expect(storageFromLocation('s3://acme-raw', { s3Client }).url).toBe('s3://acme-raw/');
  });

  it('resolves a relative folder against baseDir (the spec file folder)', () => {
    const storage = storageFromLocation('data/orders', { baseDir: '/work/pipelines' });

    expect(storage).toBeInstanceOf(FolderStorage);
    expect(storage.url).toBe(path.resolve('/work/pipelines/data/orders'));
    expect(storageFromLocation('/abs/in', { baseDir: '/work' }).url).toBe(path.resolve('/abs/in'));
    expect(storageFromLocation('file:///abs/in').url).toBe(path.resolve('/abs/in'));
  });

  it('fails for other URL schemes', () => {
    expect(() => storageFromLocation('gs://bucket/x')).toThrow('unsupported location gs://bucket/x');
  });
});
