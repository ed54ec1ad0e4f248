import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { FolderStorage } from '../../../functions/adapters/storage/folder.js';
import { S3Storage } from '../../../functions/adapters/storage/s3.js';
import { rejectsLocation } from '../../../functions/engine/read-side/rejects.js';

/** Where `runs <id>` and `rejects` say a run's rejects are: one `/` between the storage and the key. */
describe('rejectsLocation', () => {
  const run = '0190d6a4-6b1e-7c3a-9f00-000000000001';
  const client = new S3Client({ region: 'eu-west-1' });

  it('joins an S3 bucket (url ending in /) without a double slash', () => {
    expect(rejectsLocation(new S3Storage({ client, bucket: 'staging' }), run)).toBe(
      `s3://staging/runs/${run}/rejects/`,
    );
  });

  it('joins an S3 bucket with a prefix, and a folder (url without a trailing /)', () => {
    expect(rejectsLocation(new S3Storage({ client, bucket: 'b', prefix: 'sluice/' }), run)).toBe(
      `s3://b/sluice/runs/${run}/rejects/`,
    );
    expect(rejectsLocation(new FolderStorage('/tmp/home/staging'), run)).toBe(
      `/tmp/home/staging/runs/${run}/rejects/`,
    );
  });
});
