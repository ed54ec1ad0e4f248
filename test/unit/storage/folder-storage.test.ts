import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderStorage } from '../../../functions/adapters/storage/folder.js';
import { InvalidKeyError } from '../../../functions/adapters/storage/keys.js';
import { NotFoundError, ObjectChangedError } from '../../../functions/engine/ports/storage.js';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

async function text(stream: Readable): Promise<string> {
  let out = '';
  for await (const part of stream) out += (part as Buffer).toString('utf8');
  return out;
}

async function keys(storage: FolderStorage, prefix?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of storage.list(prefix)) out.push(o.key);
  return out;
}

describe('FolderStorage', () => {
  let root: string;
  let storage: FolderStorage;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'sluice-folder-'));
    storage = new FolderStorage(root);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('writes, creating folders, and reads back', async () => {
    await storage.write('runs/r1/manifest.json', '{"chunks":[]}');

    expect(await text(await storage.read('runs/r1/manifest.json'))).toBe('{"chunks":[]}');
    expect((await storage.readBytes('runs/r1/manifest.json')).toString()).toBe('{"chunks":[]}');
  });

  it('writes a stream', async () => {
    await storage.write('a/stream.txt', Readable.from([Buffer.from('hello '), Buffer.from('world')]));

    expect(await text(await storage.read('a/stream.txt'))).toBe('hello world');
    expect((await storage.head('a/stream.txt'))?.etag).toBe(md5('hello world'));
  });

  it('reads a byte range with an exclusive end', async () => {
    await storage.write('digits.txt', '0123456789');

    expect((await storage.readBytes('digits.txt', { start: 2, end: 5 })).toString()).toBe('234');
    expect((await storage.readBytes('digits.txt', { start: 8, end: 100 })).toString()).toBe('89');
    expect((await storage.readBytes('digits.txt', { start: 5, end: 5 })).toString()).toBe('');
  });

  it('lists recursively in S3 key order (UTF-8 bytes), with size and MD5 etag', async () => {
    for (const key of ['b.csv', 'a0.csv', 'a/x.csv', 'a.csv', 'a/b/c.csv', 'é.csv', 'z.csv'])
      await storage.write(key, key);

    const listed: { key: string; size: number; etag: string }[] = [];
    for await (const o of storage.list()) listed.push({ key: o.key, size: o.size, etag: o.etag });

    expect(listed.map((o) => o.key)).toEqual([
      'a.csv',
      'a/b/c.csv',
      'a/x.csv',
      'a0.csv',
      'b.csv',
      'z.csv',
      'é.csv',
    ]);
    expect(listed[0]).toEqual({ key: 'a.csv', size: 5, etag: md5('a.csv') });
  });

  it('lists only keys under a prefix, also a partial name', async () => {
    for (const key of ['runs/r1/a', 'runs/r10/b', 'runs/r2/c', 'other/d']) await storage.write(key, 'x');

    expect(await keys(storage, 'runs/r1')).toEqual(['runs/r1/a', 'runs/r10/b']);
    expect(await keys(storage, 'runs/r1/')).toEqual(['runs/r1/a']);
    expect(await keys(storage, 'missing/')).toEqual([]);
  });

  it('lists nothing, without error, when the root does not exist', async () => {
    expect(await keys(new FolderStorage(path.join(root, 'nope')))).toEqual([]);
  });

  it('skips files of writes in progress', async () => {
    await storage.write('a.csv', 'x');
    await writeFile(path.join(root, '.b.csv.123abc.sluice-tmp'), 'half');

    expect(await keys(storage)).toEqual(['a.csv']);
  });

  it('keeps the etag of unchanged content when the file is touched, and changes it with the content', async () => {
    await storage.write('a.csv', 'id\n1\n');
    const before = (await storage.head('a.csv'))!.etag;
    await utimes(path.join(root, 'a.csv'), new Date(), new Date(Date.now() + 5000));

    const fresh = new FolderStorage(root);
    expect((await fresh.head('a.csv'))!.etag).toBe(before);
    await writeFile(path.join(root, 'a.csv'), 'id\n2\n');
    expect((await fresh.head('a.csv'))!.etag).toBe(md5('id\n2\n'));
  });

  it('replaces a file atomically, leaving no temp files behind', async () => {
    await storage.write('m.json', 'old');
    await storage.write('m.json', 'new');

    expect(await text(await storage.read('m.json'))).toBe('new');
    expect(await readdir(root)).toEqual(['m.json']);
  });

  it('removes the temp file when a streamed write fails', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('source broke'));
      },
    });

    await expect(storage.write('x/y.bin', failing)).rejects.toThrow('source broke');
    expect(await readdir(path.join(root, 'x'))).toEqual([]);
  });

  it('fails with NotFoundError for a missing object, and head says undefined', async () => {
    await mkdir(path.join(root, 'dir'));

    await expect(storage.read('nope.csv')).rejects.toBeInstanceOf(NotFoundError);
    await expect(storage.read('dir')).rejects.toBeInstanceOf(NotFoundError);
    await expect(storage.read('nope/deeper.csv')).rejects.toThrow(
      `not found: ${path.join(root, 'nope/deeper.csv')}`,
    );
    expect(await storage.head('nope.csv')).toBeUndefined();
    expect(await storage.head('dir')).toBeUndefined();
  });

  it('fails when a key would escape the root', async () => {
    for (const key of ['../secret', 'a/../../b', '/etc/passwd', 'a//b', 'a\\b', './a', '']) {
      await expect(storage.read(key), key).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(storage.write(key, 'x'), key).rejects.toBeInstanceOf(InvalidKeyError);
    }
    await expect(storage.write('../x', 'x')).rejects.toThrow(
      `storage key "../x" has a '..' segment and would escape the root`,
    );
    await expect(keys(storage, '../')).rejects.toBeInstanceOf(InvalidKeyError);
  });

  it('reads only the expected version with ifMatch', async () => {
    await storage.write('a.csv', 'v1');

    expect(await text(await storage.read('a.csv', undefined, { ifMatch: md5('v1') }))).toBe('v1');
    await expect(storage.read('a.csv', { start: 0, end: 1 }, { ifMatch: md5('v0') })).rejects.toBeInstanceOf(
      ObjectChangedError,
    );
  });

  it('deletes everything under a prefix and the folders it emptied', async () => {
    for (const key of ['runs/r1/a', 'runs/r1/sub/b', 'runs/r2/c']) await storage.write(key, 'x');

    await storage.deletePrefix('runs/r1/');
    await storage.deletePrefix('nothing/here/');

    expect(await keys(storage)).toEqual(['runs/r2/c']);
    expect(await readdir(path.join(root, 'runs'))).toEqual(['r2']);
    expect((await stat(root)).isDirectory()).toBe(true);
  });
});
