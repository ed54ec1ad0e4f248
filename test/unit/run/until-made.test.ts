import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { untilMade } from '../../../functions/engine/run/process-chunks.js';

async function* buffers(n: number, size = 64 * 1024): AsyncGenerator<Buffer> {
  for (let i = 0; i < n; i++) yield Buffer.alloc(size, 97 + (i % 26));
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe("untilMade: a chunk's rows as one stream into COPY, and when they are all made", () => {
  it('passes every byte through and settles once the rows end, not before', async () => {
    const { rows, made } = untilMade(buffers(40));
    let settled = false;
    void made.then(() => {
      settled = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false); // nothing has pulled the rows yet
    const copied = await collect(rows);
    await made;
    expect(copied.length).toBe(40 * 64 * 1024);
    expect(copied.subarray(64 * 1024, 64 * 1024 + 1).toString()).toBe('b');
  });

  it("rejects with the source's error when the rows fail, and the stream fails with it", async () => {
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.from('1,a\n');
      throw new Error('source connection reset');
    }
    const { rows, made } = untilMade(broken());
    await expect(collect(rows)).rejects.toThrow('source connection reset');
    await expect(made).rejects.toThrow('source connection reset');
  });

  it('rejects when the stream is destroyed before the rows end (a failed COPY), instead of waiting forever', async () => {
    const { rows, made } = untilMade(buffers(200));
    rows.once('data', () => rows.destroy());
    await expect(made).rejects.toThrow('the rows stopped before they were all made');
  });
});
