import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { teeToFile } from '../../../functions/engine/run/process-chunks.js';

async function* buffers(n: number, size = 64 * 1024): AsyncGenerator<Buffer> {
  for (let i = 0; i < n; i++) yield Buffer.alloc(size, 97 + (i % 26));
}

/** A sink that keeps what it gets, slowly: each write waits a tick, so backpressure is real. */
function slowSink(kept: Buffer[]): Writable {
  return new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      kept.push(chunk);
      setImmediate(callback);
    },
  });
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe('teeToFile: the rows of a chunk, to COPY and to its staged file at once', () => {
  it('gives both the same bytes, each paced by the slower reader', async () => {
    const fileParts: Buffer[] = [];
    const { rows, written } = teeToFile(buffers(40), (file) => pipeline(file, slowSink(fileParts)));
    const copied = await collect(rows);
    await written;
    expect(copied.length).toBe(40 * 64 * 1024);
    expect(Buffer.concat(fileParts).equals(copied)).toBe(true);
  });

  it('fails the rows when the file write fails, instead of waiting for it forever', async () => {
    const { rows, written } = teeToFile(buffers(200), async (file) => {
      // Reads a little, then fails without destroying its input (as an upload that gives up does).
      for await (const _ of file) throw new Error('upload failed: SlowDown');
    });
    await expect(collect(rows)).rejects.toThrow('upload failed: SlowDown');
    await expect(written).rejects.toThrow('upload failed: SlowDown');
  });

  it('fails the file write when the rows fail or stop early, so no partial file is kept as whole', async () => {
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.from('1,a\n');
      throw new Error('source connection reset');
    }
    const failed = teeToFile(broken(), (file) => pipeline(file, slowSink([])));
    await expect(collect(failed.rows)).rejects.toThrow('source connection reset');
    await expect(failed.written).rejects.toThrow('the rows stopped before they were all made');

    const stopped = teeToFile(buffers(200), (file) => pipeline(file, slowSink([])));
    stopped.rows.once('data', () => stopped.rows.destroy());
    await expect(stopped.written).rejects.toThrow('the rows stopped before they were all made');
  });

  it('fails without an unhandled error when the rows fail before the writer listens (a source refused)', async () => {
    async function* refused(): AsyncGenerator<Buffer> {
      yield* [];
      throw new Error('connect ECONNREFUSED 127.0.0.1:3306');
    }
    const failed = teeToFile(refused(), async (file) => {
      await new Promise((resolve) => setTimeout(resolve, 50)); // as FolderStorage makes its folder first
      await pipeline(file, slowSink([]));
    });

    await expect(collect(failed.rows)).rejects.toThrow('ECONNREFUSED');
    await expect(failed.written).rejects.toThrow();
  });
});
