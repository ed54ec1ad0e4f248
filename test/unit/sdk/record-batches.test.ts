import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { recordBatches } from '../../../functions/engine/run/record-batches.js';
import type { SourceRecord } from '../../../functions/engine/types.js';
import { defineSource, flattenBatches } from '../../../functions/sdk/source.js';

const chunk = { id: 'chunk-00000', seq: 0, bytes: 0, route: 'lambda' as const, source: {} };
const ctx = {
  config: {},
  openStorage: () => {
    throw new Error('no storage');
  },
  credential: (async () => '') as never,
};

const row = (n: number): SourceRecord => ({ kind: 'row', row: { n: String(n) }, location: `n=${n}` });

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function* pages(): AsyncGenerator<SourceRecord[]> {
  yield [row(1), row(2)];
  yield [row(3)];
  throw new Error('the server closed the connection');
}

describe('recordBatches', () => {
  it('gathers a read-only connector into batches of at most 512 records, in order', async () => {
    const counting = defineSource({
      name: 'counting',
      description: 'counts',
      configSchema: z.strictObject({}),
      async plan() {
        return { chunks: [], units: [], skipped: 0 };
      },
      async *read() {
        for (let n = 1; n <= 1200; n++) yield row(n);
      },
    });
    const batches = await collect(recordBatches(counting, chunk, ctx));
    expect(batches.map((b) => b.length)).toEqual([512, 512, 176]);
    expect(batches.flat().map((r) => (r.kind === 'row' ? r.row.n : r.reason))).toEqual(
      Array.from({ length: 1200 }, (_, i) => String(i + 1)),
    );
  });

  it("prefers the connector's own batches, names the source when they fail, and flattens back to read", async () => {
    const batched = defineSource({
      name: 'batched',
      description: 'two batches, then a failure',
      configSchema: z.strictObject({}),
      async plan() {
        return { chunks: [], units: [], skipped: 0 };
      },
      read: () => flattenBatches(pages()),
      readBatches: () => pages(),
    });
    const seen: number[] = [];
    const reading = (async () => {
      for await (const batch of recordBatches(batched, chunk, ctx)) seen.push(batch.length);
    })();
    await expect(reading).rejects.toThrow('source batched: the server closed the connection');
    expect(seen).toEqual([2, 1]);
  });
});
