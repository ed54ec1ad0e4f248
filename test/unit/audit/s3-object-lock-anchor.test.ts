import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { S3ObjectLockAuditAnchor } from '../../../functions/adapters/audit-anchor/s3-object-lock.js';
import { AuditAnchorError } from '../../../functions/engine/audit/anchor.js';
import { objectLockBucket } from '../../support/object-lock-bucket.js';

const DB = '7715513690512099460/warehouse';
const hash = (c: string) => c.repeat(64);

describe('S3ObjectLockAuditAnchor (mocked S3)', () => {
  let bucket: ReturnType<typeof objectLockBucket>;
  beforeEach(() => {
    bucket = objectLockBucket(2);
  });
  afterEach(() => bucket.s3.restore());
  const anchor = () =>
    new S3ObjectLockAuditAnchor({
      client: new S3Client({ region: 'eu-west-1' }),
      bucket: 'audit-anchors',
      now: () => new Date('2026-12-04T10:00:00Z'),
    });

  it('puts each head as a new locked object, COMPLIANCE for 7 years, with a checksum', async () => {
    const a = anchor();

    await a.write(DB, { seq: 42, hash: hash('a'), at: '2026-12-04T10:00:00.000Z' });

    const put = bucket.s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put).toMatchObject({
      Bucket: 'audit-anchors',
      Key: `audit-anchor/7715513690512099460_warehouse/00000000000000000042-${hash('a')}.json`,
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: new Date('2033-12-04T10:00:00Z'),
      ChecksumAlgorithm: 'SHA256',
    });
  });

  it('reads every head ever anchored, over several pages and behind delete markers, in seq order', async () => {
    const a = anchor();
    for (const [seq, c] of [
      [3, 'a'],
      [10, 'b'],
      [7, 'c'],
    ] as const)
      await a.write(DB, { seq, hash: hash(c), at: '' });
    bucket.deleteLatest(`audit-anchor/7715513690512099460_warehouse/00000000000000000010-${hash('b')}.json`);

    const heads = await a.read(DB);

    expect(heads.map((h) => [h.seq, h.hash])).toEqual([
      [3, hash('a')],
      [7, hash('c')],
      [10, hash('b')],
    ]);
  });

  it('reads nothing for a database that was never anchored', async () => {
    const a = anchor();
    await a.write('other/db', { seq: 1, hash: hash('d'), at: '' });

    expect(await a.read(DB)).toEqual([]);
  });

  it('fails when an object in the anchor folder is not an anchored head', async () => {
    const a = anchor();
    bucket.versions.push({
      key: 'audit-anchor/7715513690512099460_warehouse/head.json',
      versionId: 'x',
      lastModified: new Date(),
      deleteMarker: false,
    });

    await expect(a.read(DB)).rejects.toThrow(AuditAnchorError);
    await expect(a.read(DB)).rejects.toThrow(
      's3://audit-anchors/audit-anchor/7715513690512099460_warehouse/head.json is not an anchored head',
    );
  });
});
