// Issue 12.6: an unpartitioned target (a lookup table) loads exactly once and atomically in every mode.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commitRun,
  DuplicateKeyError,
  ensureInternalSchema,
  ensureTargetTable,
  SchemaMismatchError,
} from '../../../functions/engine/load/index.js';
import type { Warehouse } from '../../../functions/engine/ports/warehouse.js';
import type { DestinationSpec, PipelineSpec } from '../../../functions/engine/spec/schema.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';
import { loadFixtureChunk, ordersSpec, startRun, targetRows } from './helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FILES = [{ key: 'orders.csv', etag: '"e1"', size: 123 }];

describe.each(warehouseTargets)('an unpartitioned target on $name', (target) => {
  let db: TestWarehouse;
  let schemaNo = 0;

  /** The orders spec without partitioning, keyed on order_id alone, in a schema of its own. */
  async function lookupPipeline(destination: Partial<DestinationSpec> = {}): Promise<PipelineSpec> {
    schemaNo += 1;
    const { spec } = ordersSpec({
      schema: `unpart_${schemaNo}`,
      key: ['order_id'],
      partitioning: undefined,
      ...destination,
    });
    const named = { ...spec, name: `lookup-${schemaNo}` };
    await ensureTargetTable(db.wh, named.destination, { pipeline: named.name, version: 1, hash: 'h' });
    return named;
  }

  /** One committed run of the given chunk fixtures (none: a rerun that found nothing new). */
  async function run(spec: PipelineSpec, chunks: string[]) {
    const runId = await startRun(db.wh, spec, { chunks: chunks.length });
    for (const file of chunks) await loadFixtureChunk(db.wh, runId, spec, file);
    return commitRun(db.wh, { runId, spec, files: FILES, expectedChunks: chunks.length });
  }

  const ids = async (spec: PipelineSpec) =>
    (await targetRows(db.wh, spec.destination)).map((r) => Number(r.order_id));

  beforeAll(async () => {
    db = await target.open();
    await ensureInternalSchema(db.wh);
  });
  afterAll(() => db?.dispose());

  it('creates a plain table with the spec key and no partitions', async () => {
    const spec = await lookupPipeline();

    const { rows } = await db.wh.query<{ kind: string; parts: number; key: string }>(
      `SELECT c.relkind AS kind,
              (SELECT count(*)::int FROM pg_inherits i WHERE i.inhparent = c.oid) AS parts,
              (SELECT string_agg(a.attname, ',') FROM pg_index x JOIN pg_attribute a
                 ON a.attrelid = x.indrelid AND a.attnum = ANY (x.indkey)
                WHERE x.indrelid = c.oid AND x.indisprimary) AS key
         FROM pg_class c WHERE c.oid = to_regclass($1)`,
      [`${spec.destination.schema}.orders`],
    );
    expect(rows).toEqual([{ kind: 'r', parts: 0, key: 'order_id' }]);
    const again = await ensureTargetTable(db.wh, spec.destination, {
      pipeline: spec.name,
      version: 1,
      hash: 'h',
    });
    expect(again.created).toBe(false);
  });

  it('append: loads once, a rerun loads nothing new, a key already loaded fails the run', async () => {
    const spec = await lookupPipeline({ mode: 'append' });

    const first = await run(spec, ['run1-chunk-0.csv', 'run1-chunk-1.csv']);
    expect(first).toMatchObject({
      read: 8,
      loaded: 4,
      rejected: 1,
      filtered: 1,
      deduplicated: 2,
      partitions: [],
    });
    expect(await ids(spec)).toEqual([1, 2, 3, 4]);

    const rerun = await run(spec, []);
    expect(rerun).toMatchObject({ read: 0, loaded: 0, replaced: 0 });
    const more = await run(spec, ['run2-february.csv']);
    expect(more.loaded).toBe(1);
    expect(await ids(spec)).toEqual([1, 2, 3, 4, 6]);

    await expect(run(spec, ['run2-upsert.csv'])).rejects.toBeInstanceOf(DuplicateKeyError);
    expect(await ids(spec)).toEqual([1, 2, 3, 4, 6]);
  });

  it('upsert: the latest row per key wins, a rerun loads nothing new', async () => {
    const spec = await lookupPipeline({ mode: 'upsert' });
    await run(spec, ['run1-chunk-0.csv', 'run1-chunk-1.csv']);

    const second = await run(spec, ['run2-upsert.csv']);
    expect(second).toMatchObject({ read: 3, loaded: 3, written: 2 });
    const rows = await targetRows(db.wh, spec.destination);
    expect(rows.map((r) => [Number(r.order_id), r.amount])).toEqual([
      [1, '10.50'],
      [2, '22.00'],
      [3, '35.00'],
      [4, '40.00'],
      [5, '50.00'],
    ]);
    expect((await run(spec, [])).written).toBe(0);
    expect(await ids(spec)).toEqual([1, 2, 3, 4, 5]);
  });

  it('replace-partitions replaces the whole table; a rerun that found nothing new replaces nothing', async () => {
    const spec = await lookupPipeline({ mode: 'replace-partitions' });
    await run(spec, ['run1-chunk-0.csv', 'run1-chunk-1.csv']);

    const empty = await run(spec, []);
    expect(empty).toMatchObject({ loaded: 0, replaced: 0 });
    expect(await ids(spec)).toEqual([1, 2, 3, 4]);

    const replaced = await run(spec, ['run2-february.csv']);
    expect(replaced).toMatchObject({ loaded: 1, replaced: 4 });
    expect(await ids(spec)).toEqual([6]);
  });

  it('fails when the table is partitioned but the spec has no partitioning, and the other way round', async () => {
    const spec = await lookupPipeline();
    const partitioned: DestinationSpec = {
      ...spec.destination,
      key: ['order_id', 'order_date'],
      partitioning: { column: 'order_date', by: 'month' },
    };
    await expect(
      ensureTargetTable(db.wh, partitioned, { pipeline: spec.name, version: 1, hash: 'h2' }),
    ).rejects.toThrow(
      /is not a partitioned table \(relkind r\); the spec says partitioned by range on \(order_date\)/,
    );

    const other = { ...partitioned, schema: `unpart_p${schemaNo}` };
    await ensureTargetTable(db.wh, other, { pipeline: spec.name, version: 1, hash: 'h3' });
    const err = await ensureTargetTable(
      db.wh,
      { ...other, key: ['order_id'], partitioning: undefined },
      { pipeline: spec.name, version: 1, hash: 'h4' },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaMismatchError);
    expect(String(err)).toMatch(/is a partitioned table; the spec has no partitioning/);
  });

  it.runIf(target.name === 'pg')(
    'a whole-table replace is invisible until its commit: a REPEATABLE READ reader sees all old rows, then all new',
    async () => {
      const spec = await lookupPipeline({ mode: 'replace-partitions' });
      await run(spec, ['run1-chunk-0.csv', 'run1-chunk-1.csv']);
      const table = `${spec.destination.schema}.orders`;
      const runId = await startRun(db.wh, spec, { chunks: 1 });
      await loadFixtureChunk(db.wh, runId, spec, 'run2-february.csv');

      const reader = new pg.Client({ connectionString: db.url });
      await reader.connect();
      let releaseBlocker!: () => void;
      try {
        await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        await reader.query(`SELECT count(*) FROM ${table}`); // the snapshot
        // Hold a lock the commit needs after its delete and insert, so it waits mid-transaction.
        const blockerHeld = new Promise<void>((resolveHeld) => {
          const released = new Promise<void>((resolve) => {
            releaseBlocker = resolve;
          });
          void db.wh.transaction(async (tx) => {
            await tx.query('LOCK TABLE sluice.file_bookmarks IN EXCLUSIVE MODE');
            resolveHeld();
            await released;
          });
        });
        await blockerHeld;
        const commit = commitRun(db.wh, { runId, spec, files: FILES, expectedChunks: 1 });
        await waitForLockWait(db.wh);

        // Mid-commit: a fresh reader and the old snapshot both see the old table, whole.
        expect(await ids(spec)).toEqual([1, 2, 3, 4]);
        const during = await reader.query(`SELECT order_id::int AS id FROM ${table} ORDER BY 1`);
        expect(during.rows.map((r) => r.id)).toEqual([1, 2, 3, 4]);

        releaseBlocker();
        expect(await commit).toMatchObject({ loaded: 1, replaced: 4 });
        const after = await reader.query(`SELECT order_id::int AS id FROM ${table} ORDER BY 1`);
        expect(after.rows.map((r) => r.id)).toEqual([1, 2, 3, 4]);
        await reader.query('COMMIT');
        const fresh = await reader.query(`SELECT order_id::int AS id FROM ${table} ORDER BY 1`);
        expect(fresh.rows.map((r) => r.id)).toEqual([6]);
      } finally {
        releaseBlocker?.();
        await reader.end();
      }
    },
  );

  it.runIf(target.name === 'pglite')(
    'a reader during a whole-table replace sees the old rows or the new',
    async () => {
      const spec = await lookupPipeline({ mode: 'replace-partitions' });
      await run(spec, ['run1-chunk-0.csv', 'run1-chunk-1.csv']);
      const runId = await startRun(db.wh, spec, { chunks: 1 });
      await loadFixtureChunk(db.wh, runId, spec, 'run2-february.csv');

      const commit = commitRun(db.wh, { runId, spec, files: FILES, expectedChunks: 1 });
      const reads = await Promise.all([1, 2, 3, 4, 5].map((ms) => sleep(ms).then(() => ids(spec))));
      await commit;
      for (const seen of reads) expect([[1, 2, 3, 4], [6]]).toContainEqual(seen);
      expect(await ids(spec)).toEqual([6]);
    },
  );
});

/** Waits until some backend waits on a lock (the commit blocked behind the test's blocker). */
async function waitForLockWait(wh: Warehouse): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await wh.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted',
    );
    if (rows[0]!.n > 0) return;
    await sleep(10);
  }
  throw new Error('the commit never blocked');
}
