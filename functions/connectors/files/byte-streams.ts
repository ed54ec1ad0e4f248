import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { SourceError } from './errors.js';

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export function hasGzipMagic(head: Buffer): boolean {
  return head[0] === GZIP_MAGIC_0 && head[1] === GZIP_MAGIC_1;
}

/** The first bytes of a stream (at least `min` unless it is shorter) and an iterator over the rest. */
export async function peek(
  stream: Readable,
  min: number,
): Promise<{ head: Buffer; rest: AsyncIterator<Buffer>; close: () => void }> {
  const rest = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const parts: Buffer[] = [];
  let length = 0;
  while (length < min) {
    const next = await rest.next();
    if (next.done) break;
    parts.push(next.value);
    length += next.value.length;
  }
  return { head: Buffer.concat(parts), rest, close: () => stream.destroy() };
}

/** Yields head, then the rest. */
export async function* replay(head: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  let finished = false;
  try {
    if (head.length > 0) yield head;
    for (;;) {
      const next = await rest.next();
      if (next.done) {
        finished = true;
        return;
      }
      yield next.value;
    }
  } finally {
    // A consumer that stops early must not leave the storage stream (an HTTP socket) open.
    if (!finished) await rest.return?.();
  }
}

/**
 * Gunzips a byte source. A corrupt or truncated gzip fails with SourceError naming the file: the
 * chunk fails rather than silently losing its tail.
 */
export async function* gunzip(source: AsyncIterable<Buffer>, where: string): AsyncGenerator<Buffer> {
  const unzip = createGunzip();
  let readError: unknown;
  async function* watched(): AsyncGenerator<Buffer> {
    try {
      yield* source;
    } catch (error) {
      readError = error;
      throw error;
    }
  }
  const feeding = pipeline(Readable.from(watched()), unzip).catch(() => undefined);
  try {
    for await (const part of unzip) yield part as Buffer;
  } catch (error) {
    // A failing read (network, etag changed) is reported as itself, not as bad gzip.
    if (readError !== undefined) throw readError;
    throw new SourceError(`${where}: gzip data is corrupt or truncated (${(error as Error).message})`, {
      cause: error,
    });
  } finally {
    unzip.destroy();
    await feeding;
  }
}

/** Drops a UTF-8 byte order mark at the start of a byte source; `found` says whether there was one. */
export async function* stripBom(
  source: AsyncIterable<Buffer>,
  found?: { bom: boolean },
): AsyncGenerator<Buffer> {
  let head: Buffer = Buffer.alloc(0);
  let decided = false;
  for await (const part of source) {
    if (decided) {
      yield part;
      continue;
    }
    head = head.length === 0 ? part : Buffer.concat([head, part]);
    if (head.length < BOM.length && BOM.subarray(0, head.length).equals(head)) continue;
    decided = true;
    const bom = head.subarray(0, BOM.length).equals(BOM);
    if (found) found.bom = bom;
    const body = bom ? head.subarray(BOM.length) : head;
    if (body.length > 0) yield body;
  }
  if (!decided && head.length > 0) yield head;
}
