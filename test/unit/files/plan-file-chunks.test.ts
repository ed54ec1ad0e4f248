import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderStorage } from '../../../functions/adapters/storage/folder.js';
import { SourceError } from '../../../functions/connectors/files/errors.js';
import { GZIP_SIZE_FACTOR } from '../../../functions/connectors/files/plan.js';
import { fileChunkSourceSchema } from '../../../functions/connectors/files/types.js';
import { FIXTURES, filesConfig, plan, readPlanned } from './helpers.js';

describe('planFileChunks over a folder of files', () => {
  let dir: string;
  let storage: FolderStorage;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sluice-plan-'));
    storage = new FolderStorage(dir);
    const files: Record<string, string> = {
      'b.csv': 'id\n2\n',
      'a.csv': 'id\n1\n',
      'notes.txt': 'not data',
      'sub/c.csv': 'id\n3\n',
      'sub/deep/d.csv': 'id\n4\n',
    };
    for (const [key, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, key)), { recursive: true });
      await writeFile(path.join(dir, key), text);
    }
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const keys = async (pattern: string) =>
    (await plan(filesConfig({ location: dir, pattern, format: 'csv' }), 1 << 20, storage)).files.map(
      (f) => f.key,
    );

  it('takes the files the pattern matches, in key order', async () => {
    expect(await keys('*.csv')).toEqual(['a.csv', 'b.csv']);
    expect(await keys('**/*.csv')).toEqual(['a.csv', 'b.csv', 'sub/c.csv', 'sub/deep/d.csv']);
    expect(await keys('sub/**/*.csv')).toEqual(['sub/c.csv', 'sub/deep/d.csv']);
    expect(await keys('{b,sub/c}.csv')).toEqual(['b.csv', 'sub/c.csv']);
  });

  it('makes one chunk per small file, in file order, each with its etag and header', async () => {
    const config = filesConfig({ location: dir, pattern: '**/*.csv', format: 'csv' });

    const planned = await plan(config, 1 << 20, storage);

    expect(planned.chunks.map((c) => c.source.key)).toEqual([
      'a.csv',
      'b.csv',
      'sub/c.csv',
      'sub/deep/d.csv',
    ]);
    const md5 = createHash('md5').update('id\n1\n').digest('hex');
    expect(planned.chunks[0]).toEqual({
      bytes: 2,
      source: {
        key: 'a.csv',
        etag: md5,
        size: 5,
        start: 3,
        end: 5,
        compression: 'none',
        format: 'csv',
        header: ['id'],
        firstLine: 2,
      },
    });
    expect((await readPlanned(config, planned, storage)).map((r) => r.kind === 'row' && r.row.id)).toEqual([
      '1',
      '2',
      '3',
      '4',
    ]);
  });

  it('makes many chunks of many files', async () => {
    for (let i = 0; i < 30; i++)
      await writeFile(path.join(dir, `many-${String(i).padStart(2, '0')}.csv`), `id\n${i}\n`);
    const config = filesConfig({ location: dir, pattern: 'many-*.csv', format: 'csv' });

    const planned = await plan(config, 1 << 20, storage);

    expect(planned.chunks).toHaveLength(30);
    expect(planned.files).toHaveLength(30);
    expect(
      (await readPlanned(config, planned, storage)).map((r) => r.kind === 'row' && Number(r.row.id)),
    ).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('skips files already loaded with the same etag, and counts them', async () => {
    const config = filesConfig({ location: dir, pattern: '*.csv', format: 'csv' });
    const first = await plan(config, 1 << 20, storage);
    const loaded = new Set(first.files.filter((f) => f.key === 'a.csv').map((f) => `${f.key}@${f.etag}`));

    const planned = await plan(config, 1 << 20, storage, (f) => loaded.has(`${f.key}@${f.etag}`));

    expect(planned.skipped).toBe(1);
    expect(planned.files.map((f) => f.key)).toEqual(['b.csv']);
    expect(planned.chunks.map((c) => c.source.key)).toEqual(['b.csv']);
  });

  it('plans a file again when its content changed, even under the same name', async () => {
    const config = filesConfig({ location: dir, pattern: 'a.csv', format: 'csv' });
    const [before] = (await plan(config, 1 << 20, storage)).files;
    await writeFile(path.join(dir, 'a.csv'), 'id\n1\n5\n');

    const planned = await plan(config, 1 << 20, new FolderStorage(dir), (f) => f.etag === before!.etag);

    expect(planned.skipped).toBe(0);
    expect(planned.chunks).toHaveLength(1);
  });

  it('plans zero chunks, without error, when every file was already loaded', async () => {
    const planned = await plan(
      filesConfig({ location: dir, pattern: '*.csv', format: 'csv' }),
      1 << 20,
      storage,
      () => true,
    );

    expect(planned).toEqual({ chunks: [], files: [], skipped: 2 });
  });

  it('fails when nothing matches the pattern, naming location and pattern', async () => {
    const planning = plan(
      filesConfig({ location: dir, pattern: '*.jsonl', format: 'jsonl' }),
      1 << 20,
      storage,
    );

    await expect(planning).rejects.toBeInstanceOf(SourceError);
    await expect(planning).rejects.toThrow(`none of the 5 files in ${dir} (${dir}) match pattern "*.jsonl"`);
  });

  it('fails when the location does not exist', async () => {
    const missing = path.join(dir, 'nope');

    const planning = plan(
      filesConfig({ location: missing, format: 'csv' }),
      1 << 20,
      new FolderStorage(missing),
    );

    await expect(planning).rejects.toThrow(/no files in .*nope.*: the location is empty or does not exist/);
  });
});

describe('planFileChunks on fixtures', () => {
  it('fails when a header names a column twice, naming the file and the column', async () => {
    const planning = plan(filesConfig({ pattern: 'duplicate-header.csv', format: 'csv' }));

    await expect(planning).rejects.toThrow(
      /duplicate-header\.csv: the header: column "id" appears twice \(columns 1 and 3\)/,
    );
  });

  it('fails when a header column has no name', async () => {
    await expect(plan(filesConfig({ pattern: 'empty-header.csv', format: 'csv' }))).rejects.toThrow(
      /empty-header\.csv: the header: column 2 has no name/,
    );
  });

  it('fails when header is false and no columns are given', async () => {
    await expect(
      plan(filesConfig({ pattern: 'no-header.csv', format: 'csv', csv: { header: false } })),
    ).rejects.toThrow(/csv\.header is false, so csv\.columns must list the column names/);
  });

  it('lists header-only and empty files with zero chunks, so they are still bookmarked', async () => {
    const planned = await plan(filesConfig({ pattern: '{header-only,empty}.csv{,.gz}', format: 'csv' }));

    expect(planned.files.map((f) => f.key)).toEqual(['empty.csv', 'header-only.csv', 'header-only.csv.gz']);
    expect(planned.chunks).toEqual([]);
  });

  it('makes a gzip file one chunk, estimated at its compressed size times GZIP_SIZE_FACTOR', async () => {
    const size = (await readFile(path.join(FIXTURES, 'orders.csv.gz'))).length;

    const planned = await plan(filesConfig({ pattern: 'orders.csv.gz', format: 'csv' }), 10);

    expect(planned.chunks).toEqual([
      {
        bytes: size * GZIP_SIZE_FACTOR,
        source: expect.objectContaining({
          start: 0,
          end: size,
          compression: 'gzip',
          header: ['id', 'name', 'note'],
          firstLine: 1,
        }),
      },
    ]);
  });

  it('keeps chunk descriptors small, JSON, and valid for the chunk worker', async () => {
    const planned = await plan(filesConfig({ pattern: 'multiline-lf.csv', format: 'csv' }), 200);

    for (const chunk of planned.chunks) {
      expect(JSON.stringify(chunk.source).length).toBeLessThan(300);
      expect(fileChunkSourceSchema.parse(JSON.parse(JSON.stringify(chunk.source)))).toEqual(chunk.source);
    }
  });
});
