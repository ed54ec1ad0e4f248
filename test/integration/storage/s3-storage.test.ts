import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, S3Storage } from '../../../functions/adapters/storage/s3.js';
import { filesSourceConfig } from '../../../functions/connectors/files/config.js';
import { planFileChunks } from '../../../functions/connectors/files/plan.js';
import { readFileChunk } from '../../../functions/connectors/files/read.js';
import { NotFoundError } from '../../../functions/engine/ports/storage.js';

const BUCKET = 'sluice-test';
const md5 = (data: string | Buffer) => createHash('md5').update(data).digest('hex');

async function keys(storage: S3Storage, prefix?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of storage.list(prefix)) out.push(o.key);
  return out;
}

/** Starts s3rver in a child process on a free port of 127.0.0.1 (see s3rver-process.mjs for why). */
async function startS3rver(directory: string): Promise<{ child: ChildProcess; port: number }> {
  const script = fileURLToPath(new URL('./s3rver-process.mjs', import.meta.url));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', script, directory, BUCKET], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`s3rver exited early with code ${code}`)));
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
  });
  return { child, port };
}

describe('S3Storage against s3rver', () => {
  let directory: string;
  let server: { child: ChildProcess; port: number };
  let client: S3Client;
  let storage: S3Storage;

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'sluice-s3rver-'));
    server = await startS3rver(directory);
    client = createS3Client({
      endpoint: `http://127.0.0.1:${server.port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    storage = new S3Storage({ client, bucket: BUCKET, prefix: 'root' });
  });

  afterAll(async () => {
    client?.destroy();
    if (server && server.child.exitCode === null) {
      const exited = new Promise((resolve) => server.child.once('exit', resolve));
      server.child.kill('SIGTERM');
      await exited;
    }
    await rm(directory, { recursive: true, force: true });
  });

  it('writes a buffer and a stream, and reads them back whole and by range', async () => {
    const big = Buffer.alloc(6 * 1024 * 1024, 'abcdefghij'); // above lib-storage's 5 MiB part size: multipart
    await storage.write('small.txt', '0123456789');
    await storage.write(
      'streamed/big.bin',
      Readable.from([big.subarray(0, 3_000_000), big.subarray(3_000_000)]),
    );

    expect((await storage.readBytes('small.txt')).toString()).toBe('0123456789');
    expect((await storage.readBytes('small.txt', { start: 2, end: 5 })).toString()).toBe('234');
    expect((await storage.readBytes('small.txt', { start: 10, end: 20 })).toString()).toBe('');
    expect((await storage.readBytes('streamed/big.bin')).equals(big)).toBe(true);
  });

  it('heads an object with its unquoted ETag, and says undefined for a missing one', async () => {
    await storage.write('head.txt', 'hello');

    const info = await storage.head('head.txt');

    expect(info).toMatchObject({ key: 'head.txt', size: 5, etag: md5('hello') });
    expect(await storage.head('nope.txt')).toBeUndefined();
  });

  it('fails with NotFoundError for a missing object', async () => {
    await expect(storage.read('nope.txt')).rejects.toBeInstanceOf(NotFoundError);
    await expect(storage.read('nope.txt')).rejects.toThrow(`not found: s3://${BUCKET}/root/nope.txt`);
  });

  it('reads with ifMatch of the current version', async () => {
    await storage.write('versioned.txt', 'v1');

    // s3rver ignores If-Match, so a stale etag is tested against a mocked S3 (test/unit/storage).
    expect((await storage.readBytes('versioned.txt')).toString()).toBe('v1');
    await expect(storage.read('versioned.txt', undefined, { ifMatch: md5('v1') })).resolves.toBeDefined();
  });

  it('lists in key order across pages, below the prefix only', async () => {
    const paged = new S3Storage({ client, bucket: BUCKET, prefix: 'root/', pageSize: 7 });
    const written = Array.from({ length: 25 }, (_, i) => `list/item-${String(i).padStart(2, '0')}.csv`);
    for (const key of [...written].reverse()) await paged.write(key, key);
    await new S3Storage({ client, bucket: BUCKET }).write('outside/list/x.csv', 'x');

    expect(await keys(paged, 'list/')).toEqual(written);
  });

  it('deletes everything under a prefix, in batches', async () => {
    for (let i = 0; i < 12; i++) await storage.write(`del/${i}.txt`, 'x');
    await storage.write('keep/a.txt', 'x');

    await storage.deletePrefix('del/');

    expect(await keys(storage, 'del/')).toEqual([]);
    expect(await keys(storage, 'keep/')).toEqual(['keep/a.txt']);
  });

  it('serves the file source: plan by ranges, read the same rows as a folder would', async () => {
    const csv = `id,note\n${Array.from({ length: 50 }, (_, i) => `${i},"line ${i}\nsecond, part"`).join('\n')}\n`;
    await storage.write('source/orders.csv', csv);
    const config = filesSourceConfig.parse({
      location: `s3://${BUCKET}/root/source`,
      format: 'csv',
      pattern: '*.csv',
    });
    const source = new S3Storage({ client, bucket: BUCKET, prefix: 'root/source' });

    const planned = await planFileChunks(source, config, { targetBytes: 100, alreadyLoaded: () => false });
    const ids: string[] = [];
    for (const chunk of planned.chunks) {
      for await (const record of readFileChunk(source, config, chunk.source)) {
        if (record.kind === 'row') ids.push(`${record.row.id}@${record.location}`);
      }
    }

    expect(planned.chunks.length).toBeGreaterThan(10);
    expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => `${i}@orders.csv:${2 + 2 * i}`));
  });
});
