import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import {
  beginRun,
  createStagingTable,
  loadChunkExactlyOnce,
  recordPlan,
} from '../../../functions/engine/load/index.js';
import type { Warehouse } from '../../../functions/engine/ports/warehouse.js';
import { parseSpec } from '../../../functions/engine/spec/load.js';
import type { DestinationSpec, PipelineSpec } from '../../../functions/engine/spec/schema.js';
import type { ChunkCounts } from '../../../functions/engine/types.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

export function fixturePath(name: string): string {
  return join(FIXTURES, name);
}

/** The orders spec of fixtures/orders.yaml with its destination changed as given. */
export function ordersSpec(
  destination: Partial<DestinationSpec> = {},
  quality: Partial<PipelineSpec['quality']> = {},
) {
  const { spec, contentHash } = parseSpec(readFileSync(fixturePath('orders.yaml'), 'utf8'), 'orders.yaml');
  return {
    spec: {
      ...spec,
      destination: { ...spec.destination, ...destination },
      quality: { ...spec.quality, ...quality },
    } satisfies PipelineSpec,
    hash: contentHash,
  };
}

interface ChunkFixture {
  seq: number;
  counts: ChunkCounts;
}

const chunkFixtures = JSON.parse(readFileSync(fixturePath('chunks.json'), 'utf8')) as Record<
  string,
  ChunkFixture
>;

/** Counts and seq a staged chunk fixture was written with. */
export function chunkFixture(file: string): ChunkFixture {
  const found = chunkFixtures[file];
  if (!found) throw new Error(`no entry for ${file} in fixtures/chunks.json`);
  return found;
}

export function stagedColumns(spec: PipelineSpec): string[] {
  return [...Object.keys(spec.destination.columns), '_sluice_seq', '_sluice_ord'];
}

/** Begins a run of the spec's pipeline, creates its staging table and records a plan of `chunks` chunks. */
export async function startRun(
  wh: Warehouse,
  spec: PipelineSpec,
  options: { chunks: number; holder?: string; runId?: string; fullRefresh?: boolean },
): Promise<string> {
  const runId = options.runId ?? randomUUID();
  await beginRun(wh, {
    runId,
    pipeline: spec.name,
    specVersion: spec.version,
    specHash: 'test',
    trigger: { type: 'test' },
    fullRefresh: options.fullRefresh ?? false,
    holder: options.holder ?? 'test-holder',
    leaseSeconds: 600,
  });
  await createStagingTable(wh, runId, spec.destination);
  await recordPlan(wh, runId, { chunkCount: options.chunks, skippedSources: 0 });
  return runId;
}

/**
 * A chunk's rows already made, as loadChunkExactlyOnce's `produce`: `open` runs only if the chunk is
 * claimed, and the counts are given once the rows are read.
 */
export function madeRows(counts: ChunkCounts, open: () => Buffer | Readable) {
  return () => {
    const body = open();
    const rows = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    return { rows, done: finished(rows).then(() => counts) };
  };
}

/** Loads a staged chunk fixture as chunk `<file>` of the run. */
export function loadFixtureChunk(wh: Warehouse, runId: string, spec: PipelineSpec, file: string) {
  const { seq, counts } = chunkFixture(file);
  const body = readFileSync(fixturePath(file));
  return loadChunkExactlyOnce(wh, {
    runId,
    chunk: { id: file, seq, route: 'lambda', bytes: body.length },
    columns: stagedColumns(spec),
    produce: madeRows(counts, () => body),
  });
}

/** Rows of the target, ordered by key, with values as text so both twins compare equal. */
export async function targetRows(wh: Warehouse, dest: DestinationSpec) {
  const { rows } = await wh.query<{
    order_id: number;
    order_date: string;
    amount: string;
    note: string | null;
  }>(
    `SELECT order_id, order_date::text AS order_date, customer, amount::text AS amount, note
       FROM "${dest.schema}"."${dest.table}" ORDER BY order_id, order_date`,
  );
  return rows;
}
