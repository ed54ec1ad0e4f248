import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  NotFound,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { S3Storage } from '../../../functions/adapters/storage/s3.js';
import { NotFoundError, ObjectChangedError } from '../../../functions/engine/ports/storage.js';

describe('S3Storage (mocked S3)', () => {
  const s3 = mockClient(S3Client);
  afterEach(() => s3.reset());
  const storage = () =>
    new S3Storage({ client: new S3Client({ region: 'eu-west-1' }), bucket: 'b', prefix: 'p' });

  it('asks for an HTTP range with an inclusive end, and If-Match with the quoted etag', async () => {
    s3.on(GetObjectCommand).rejects(
      new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: {} }),
    );

    await expect(storage().read('a.csv', { start: 10, end: 20 }, { ifMatch: 'abc' })).rejects.toBeInstanceOf(
      ObjectChangedError,
    );

    expect(s3.commandCalls(GetObjectCommand)[0]!.args[0].input).toEqual({
      Bucket: 'b',
      Key: 'p/a.csv',
      Range: 'bytes=10-19',
      IfMatch: '"abc"',
    });
  });

  it('maps NoSuchKey and NotFound to NotFoundError / undefined', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no', $metadata: {} }));
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'no', $metadata: { httpStatusCode: 404 } }));

    await expect(storage().read('x')).rejects.toThrow(new NotFoundError('s3://b/p/x'));
    expect(await storage().head('x')).toBeUndefined();
  });

  it('pages through listings and deletes in batches of 1000', async () => {
    const all = Array.from({ length: 2500 }, (_, i) => ({
      Key: `p/k${String(i).padStart(4, '0')}`,
      Size: 1,
      ETag: '"e"',
    }));
    s3.on(ListObjectsV2Command).callsFake((input: { ContinuationToken?: string }) => {
      const from = Number(input.ContinuationToken ?? 0);
      const next = from + 1000;
      return {
        Contents: all.slice(from, next),
        IsTruncated: next < all.length,
        NextContinuationToken: String(next),
      };
    });
    s3.on(DeleteObjectsCommand).resolves({});

    await storage().deletePrefix('');

    const batches = s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.Delete?.Objects?.length);
    expect(batches).toEqual([1000, 1000, 500]);
    expect(s3.commandCalls(ListObjectsV2Command)).toHaveLength(3);
  });

  it('fails naming the objects DeleteObjects could not delete', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'p/a', Size: 1, ETag: '"e"' }] });
    s3.on(DeleteObjectsCommand).resolves({
      Errors: [{ Key: 'p/a', Code: 'AccessDenied', Message: 'denied' }],
    });

    await expect(storage().deletePrefix('')).rejects.toThrow(
      'could not delete 1 object(s) under s3://b/p/, e.g. p/a: AccessDenied denied',
    );
  });
});
