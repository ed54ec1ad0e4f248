import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FolderStorage } from '../../../functions/adapters/storage/folder.js';
import { readJsonArrayBatches } from '../../../functions/connectors/files/json-array.js';
import type { FileChunkSource } from '../../../functions/connectors/files/types.js';
import { getSourceConnector } from '../../../functions/connectors/registry.js';
import type { Storage } from '../../../functions/engine/ports/storage.js';
import { checkSourceContract } from '../../../functions/sdk/contract.js';
import type { SourceConnector, SourceRecord } from '../../../functions/sdk/index.js';

const files = getSourceConnector('files') as SourceConnector<Record<string, unknown>>;
const FIXTURES = `${process.cwd()}/test/fixtures/contract/files`;

async function readAll(location: string): Promise<SourceRecord[]> {
  const config = files.configSchema.parse({ location, format: 'json' });
  const ctx = {
    config,
    openStorage: (l: string) => new FolderStorage(`${FIXTURES}/${l}`),
    credential: (async () => '') as never,
  };
  const plan = await files.plan({ ...ctx, targetBytes: 1, parallelism: 4, alreadyLoaded: () => false });
  const out: SourceRecord[] = [];
  for (const [seq, c] of plan.chunks.entries())
    for await (const r of files.read(
      { id: `c${seq}`, seq, bytes: c.bytes, route: 'lambda', source: c.source },
      ctx,
    ))
      out.push(r);
  return out;
}

describe('files source, format json (a top-level array)', () => {
  it('keeps the connector contract, columns included', async () => {
    const findings = await checkSourceContract({
      connector: files,
      config: { location: 'json', format: 'json' },
      baseDir: FIXTURES,
      identity: (row) => String(row.id),
      expectedRows: 3,
    });

    expect(findings).toEqual([]);
  });

  it('reads each element as a record, an element that is not an object as unparseable with its index', async () => {
    const records = await readAll('json-bad');

    expect(records).toEqual([
      { kind: 'row', row: { id: 1 }, location: 'a.json:[0]' },
      { kind: 'unparseable', raw: '5', location: 'a.json:[1]', reason: 'is a number, not a JSON object' },
      { kind: 'row', row: { id: 3 }, location: 'a.json:[2]' },
    ]);
  });

  it('fails when the file is not a top-level array, naming the file', async () => {
    await expect(readAll('json-not-array')).rejects.toThrow(
      /json-not-array\/a\.json: format json needs a top-level JSON array of records, found "\{" first/,
    );
  });

  it('streams: the first records come out before the file has been read to its end', async () => {
    let served = 0;
    const pieces = 1000;
    async function* body() {
      yield Buffer.from('[');
      for (let i = 0; i < pieces; i++) {
        served++;
        const records = Array.from({ length: 10 }, (_, j) => JSON.stringify({ id: i * 10 + j }));
        yield Buffer.from(`${i === 0 ? '' : ','}${records.join(',')}`);
      }
      yield Buffer.from(']');
    }
    const storage = { url: 'memory://', read: async () => Readable.from(body()) } as unknown as Storage;
    const chunk: FileChunkSource = {
      key: 'big.json',
      etag: 'e',
      size: 0,
      start: 0,
      end: 0,
      compression: 'none',
      format: 'json',
      firstLine: 1,
    };

    const batches = readJsonArrayBatches(storage, chunk);
    const first = await batches.next();
    const servedAtFirstBatch = served;
    let total = first.done ? 0 : first.value.length;
    for await (const batch of batches) total += batch.length;

    expect(servedAtFirstBatch).toBeLessThan(pieces / 10);
    expect(total).toBe(pieces * 10);
  });
});
