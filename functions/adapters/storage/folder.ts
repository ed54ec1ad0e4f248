import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { mkdir, open, readdir, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type ByteRange,
  NotFoundError,
  ObjectChangedError,
  type ObjectInfo,
  type ReadOptions,
  type Storage,
} from '../../engine/ports/storage.js';
import { checkKey, compareKeys, readAll } from './keys.js';

/** Suffix of in-flight writes; listings skip them, so readers never see half a file. */
const TEMP_SUFFIX = '.sluice-tmp';

interface CachedEtag {
  size: number;
  mtimeMs: number;
  ino: number;
  etag: string;
}

/**
 * ETags by absolute path, shared by every FolderStorage of the process: each chunk worker opens its own
 * storage, and re-hashing a large file per chunk cost as much as parsing it. An entry holds only while
 * the file keeps its size, mtime and inode.
 */
const etagCache = new Map<string, CachedEtag>();
const ETAG_CACHE_ENTRIES = 10_000;

function cacheEtag(file: string, stats: Stats, etag: string): void {
  etagCache.delete(file);
  if (etagCache.size >= ETAG_CACHE_ENTRIES) etagCache.delete(etagCache.keys().next().value as string);
  etagCache.set(file, { size: stats.size, mtimeMs: stats.mtimeMs, ino: stats.ino, etag });
}

/**
 * The local twin of S3: a folder whose files are the objects.
 *
 * `etag` is the MD5 hex of the content, like S3's single-part ETag, so "already loaded" bookmarks
 * survive a fresh clone or a `touch`. Hashing reads the whole file once; the result is cached in
 * memory per (path, size, mtime, inode), for the whole process.
 *
 * @example
 * const storage = new FolderStorage('pipelines/data');
 * for await (const o of storage.list('orders/')) console.log(o.key, o.size, o.etag);
 */
export class FolderStorage implements Storage {
  readonly url: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.url = this.root;
  }

  async *list(prefix = ''): AsyncIterable<ObjectInfo> {
    for await (const { key, file, stats } of this.walk(prefix)) {
      yield { key, size: stats.size, etag: await this.etagOf(file, stats), lastModified: stats.mtime };
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const file = this.pathOf(key);
    const stats = await stat(file).catch(ignoreMissing);
    if (!stats?.isFile()) return undefined;
    return { key, size: stats.size, etag: await this.etagOf(file, stats), lastModified: stats.mtime };
  }

  async read(key: string, range?: ByteRange, options: ReadOptions = {}): Promise<Readable> {
    const file = this.pathOf(key);
    // Opening first turns a missing file into NotFoundError now, not into a stream error later.
    const handle = await open(file, 'r').catch((error: unknown) => {
      throw isMissing(error) ? new NotFoundError(this.describe(key)) : error;
    });
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw new NotFoundError(this.describe(key));
      if (options.ifMatch !== undefined) {
        const etag = await this.etagOf(file, stats);
        if (etag !== options.ifMatch) throw new ObjectChangedError(this.describe(key), options.ifMatch, etag);
      }
    } catch (error) {
      await handle.close();
      throw error;
    }
    if (range && range.end <= range.start) {
      await handle.close();
      return Readable.from([]);
    }
    // Our ranges end exclusively; fs streams end inclusively.
    return handle.createReadStream(range ? { start: range.start, end: range.end - 1 } : {});
  }

  async readBytes(key: string, range?: ByteRange, options?: ReadOptions): Promise<Buffer> {
    return readAll(await this.read(key, range, options));
  }

  async write(key: string, body: Buffer | string | Readable): Promise<void> {
    const file = this.pathOf(key);
    const dir = path.dirname(file);
    await mkdir(dir, { recursive: true });
    const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
    try {
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
        await writeFile(temp, bytes);
        // rename keeps size and mtime, so this hash seeds the cache (manifests, specs: small, re-read).
        const stats = await stat(temp);
        await rename(temp, file);
        cacheEtag(file, stats, createHash('md5').update(bytes).digest('hex'));
      } else {
        // Streams may be large: nothing asks for their etag, so none is computed while writing
        // (it was ~0.2 s of the event loop per 1M rows of staged chunk files); head/list compute it if asked.
        await pipeline(body, createWriteStream(temp));
        await rename(temp, file);
      }
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    const dirs = new Set<string>();
    const files: string[] = [];
    for await (const { file } of this.walk(prefix)) files.push(file);
    for (const file of files) {
      await unlink(file).catch(ignoreMissing);
      etagCache.delete(file);
      dirs.add(path.dirname(file));
    }
    // Remove folders the deletion emptied, deepest first, so the tree looks like S3 (no empty "dirs").
    const ordered = [...dirs].sort((a, b) => b.length - a.length);
    for (let dir of ordered) {
      while (dir.startsWith(this.root + path.sep)) {
        const removed = await rmdir(dir).then(
          () => true,
          () => false,
        );
        if (!removed) break;
        dir = path.dirname(dir);
      }
    }
  }

  /** Absolute path of a key; throws InvalidKeyError for keys that would leave the root. */
  private pathOf(key: string): string {
    checkKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  private describe(key: string): string {
    return path.join(this.root, key);
  }

  /**
   * Files under prefix in key order, without hashing. A folder's entries are sorted as `name/`, so a
   * depth-first walk yields keys in the same (UTF-8 byte) order as S3: `a.csv` < `a/x.csv` < `a0.csv`.
   */
  private async *walk(prefix: string): AsyncIterable<{ key: string; file: string; stats: Stats }> {
    checkKey(prefix, 'prefix');
    const start = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    yield* this.walkDir(start, prefix, new Set());
  }

  private async *walkDir(
    dirKey: string,
    prefix: string,
    seen: Set<string>,
  ): AsyncIterable<{ key: string; file: string; stats: Stats }> {
    const dir = path.join(this.root, ...dirKey.split('/').filter(Boolean));
    const entries = await readdir(dir, { withFileTypes: true }).catch(ignoreMissing);
    if (!entries) return;
    const visible: { name: string; sortName: string; file: string; stats: Stats }[] = [];
    for (const entry of entries) {
      if (entry.name.endsWith(TEMP_SUFFIX)) continue;
      const file = path.join(dir, entry.name);
      // stat follows symlinks: a linked file is an object; a linked folder is walked like a folder.
      const stats = await stat(file).catch(ignoreMissing);
      if (!stats || !(stats.isFile() || stats.isDirectory())) continue;
      visible.push({
        name: entry.name,
        sortName: stats.isDirectory() ? `${entry.name}/` : entry.name,
        file,
        stats,
      });
    }
    visible.sort((a, b) => compareKeys(a.sortName, b.sortName));
    for (const entry of visible) {
      const key = dirKey + entry.name;
      if (entry.stats.isDirectory()) {
        // A symlink loop would walk forever: each folder (device, inode) is walked once.
        const id = `${entry.stats.dev}:${entry.stats.ino}`;
        if (seen.has(id)) continue;
        if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) {
          seen.add(id);
          yield* this.walkDir(`${key}/`, prefix, seen);
        }
      } else if (key.startsWith(prefix)) {
        yield { key, file: entry.file, stats: entry.stats };
      }
    }
  }

  private async etagOf(file: string, stats: Stats): Promise<string> {
    const cached = etagCache.get(file);
    if (cached && cached.size === stats.size && cached.mtimeMs === stats.mtimeMs && cached.ino === stats.ino)
      return cached.etag;
    const md5 = createHash('md5');
    for await (const part of createReadStream(file)) md5.update(part as Buffer);
    const etag = md5.digest('hex');
    cacheEtag(file, stats, etag);
    return etag;
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function ignoreMissing(error: unknown): undefined {
  if (isMissing(error)) return undefined;
  throw error;
}
