// Issue 12.7: a full refresh never deletes rows another pipeline loaded into the same table: it is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commitRun,
  ensureInternalSchema,
  ensureTargetTable,
  failRun,
  getRun,
  otherPipelinesWritingTable,
  refuseSharedFullRefresh,
  SharedTableRefreshError,
} from '../../../functions/engine/load/index.js';
import type { PipelineSpec } from '../../../functions/engine/spec/schema.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';
import { loadFixtureChunk, ordersSpec, startRun, targetRows } from './helpers.js';

const FILES = [{ key: 'orders.csv', etag: '"e1"', size: 123 }];

describe.each(warehouseTargets)('--full-refresh of a shared table on $name', (target) => {
  let db: TestWarehouse;
  let schemaNo = 0;

  /** Two pipelines (append, no key) that write the same table of a schema of their own. */
  async function sharedTable(): Promise<[PipelineSpec, PipelineSpec]> {
    schemaNo += 1;
    const { spec } = ordersSpec({ schema: `shared_${schemaNo}`, mode: 'append', key: undefined });
    const a = { ...spec, name: `orders-a-${schemaNo}` };
    const b = { ...spec, name: `orders-b-${schemaNo}` };
    for (const p of [a, b])
      await ensureTargetTable(db.wh, p.destination, { pipeline: p.name, version: 1, hash: `h-${p.name}` });
    return [a, b];
  }

  async function run(spec: PipelineSpec, chunks: string[], fullRefresh = false) {
    const runId = await startRun(db.wh, spec, { chunks: chunks.length, fullRefresh });
    for (const file of chunks) await loadFixtureChunk(db.wh, runId, spec, file);
    return {
      runId,
      commit: () => commitRun(db.wh, { runId, spec, files: FILES, expectedChunks: chunks.length }),
    };
  }
  const ids = async (spec: PipelineSpec) =>
    (await targetRows(db.wh, spec.destination)).map((r) => Number(r.order_id));

  beforeAll(async () => {
    db = await target.open();
    await ensureInternalSchema(db.wh);
  });
  afterAll(() => db?.dispose());

  it('fails the commit naming the other pipeline; the rows of both stay, the run can be failed', async () => {
    const [a, b] = await sharedTable();
    await (await run(a, ['run1-chunk-0.csv', 'run1-chunk-1.csv'])).commit();
    await (await run(b, ['run2-february.csv'])).commit();
    const before = await ids(a);

    const refresh = await run(a, ['run2-upsert.csv'], true);
    const err = await refresh.commit().catch((e: unknown) => e);

    expect(err).toBeInstanceOf(SharedTableRefreshError);
    expect(String(err)).toContain(
      `--full-refresh of pipeline "${a.name}" is refused: it replaces every row of shared_${schemaNo}.orders, and the run ledger shows committed runs of other pipelines into that table ("${b.name}")`,
    );
    expect(await ids(a)).toEqual(before);
    expect((await getRun(db.wh, refresh.runId))?.status).toBe('running');
    await failRun(db.wh, refresh.runId, String(err));
  });

  it('is refused before a run starts (as Prepare checks), naming every other pipeline', async () => {
    const [a, b] = await sharedTable();
    await (await run(a, ['run1-chunk-0.csv', 'run1-chunk-1.csv'])).commit();
    await (await run(b, ['run2-february.csv'])).commit();

    await expect(refuseSharedFullRefresh(db.wh, a.destination, a.name)).rejects.toThrow(`("${b.name}")`);
    await expect(refuseSharedFullRefresh(db.wh, b.destination, b.name)).rejects.toThrow(`("${a.name}")`);
  });

  it('fails the commit when another pipeline committed into the table after the run was planned', async () => {
    const [a, b] = await sharedTable();
    await (await run(a, ['run1-chunk-0.csv', 'run1-chunk-1.csv'])).commit();
    await refuseSharedFullRefresh(db.wh, a.destination, a.name); // Prepare: alone so far
    const refresh = await run(a, ['run2-upsert.csv'], true);

    await (await run(b, ['run2-february.csv'])).commit();

    await expect(refresh.commit()).rejects.toBeInstanceOf(SharedTableRefreshError);
    expect(await ids(a)).toEqual([1, 2, 2, 2, 3, 4, 6]);
  });

  it('replaces the table when no other pipeline loaded rows into it (failed or empty runs do not count)', async () => {
    const [a, b] = await sharedTable();
    await (await run(a, ['run1-chunk-0.csv', 'run1-chunk-1.csv'])).commit();
    await (await run(b, [])).commit(); // b committed, but loaded nothing
    const failed = await run(b, ['run2-february.csv']);
    await failRun(db.wh, failed.runId, 'test');

    expect(await otherPipelinesWritingTable(db.wh, a.destination, a.name)).toEqual([]);
    const result = await (await run(a, ['run2-upsert.csv'], true)).commit();

    expect(result).toMatchObject({ loaded: 3, replaced: 6 });
    expect(await ids(a)).toEqual([1, 3, 5]);
  });
});
