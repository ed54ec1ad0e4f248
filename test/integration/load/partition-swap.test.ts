import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgWarehouse } from '../../../functions/adapters/warehouse/pg.js';
import {
  type CommitResult,
  commitRun,
  DuplicateKeyError,
  ensureInternalSchema,
  ensureTargetTable,
} from '../../../functions/engine/load/index.js';
import type { DestinationSpec, PipelineSpec } from '../../../functions/engine/spec/schema.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';
import { loadFixtureChunk, ordersSpec, startRun, targetRows } from './helpers.js';

/**
 * Swapping an empty partition in (functions/engine/load/partition-swap.ts) must end exactly where the
 * merge ends. Each scenario runs twice, on a pipeline with swaps off and one that swaps any partition
 * (minRows 1), and both must give the same results, errors and table; `swapped` (from the run's
 * summary) says the swap was actually taken where it should be.
 */
describe.each(warehouseTargets)('partition swap on $name', (target) => {
  let db: TestWarehouse;
  let schemaNo = 0;

  beforeAll(async () => {
    db = await target.open();
    await ensureInternalSchema(db.wh);
  });
  afterAll(() => db?.dispose());

  async function pipeline(swap: boolean, destination: Partial<DestinationSpec> = {}): Promise<PipelineSpec> {
    schemaNo += 1;
    const { spec } = ordersSpec({
      schema: `swap_${schemaNo}`,
      partitionSwap: { enabled: swap, minRows: 1 },
      ...destination,
    });
    const named = { ...spec, name: `swap-${schemaNo}` };
    await ensureTargetTable(db.wh, named.destination, { pipeline: named.name, version: 1, hash: 'h' });
    return named;
  }

  interface Step {
    files: string[];
    fullRefresh?: boolean;
  }

  type Outcome =
    | { runId: string; result: Omit<CommitResult, 'runId'>; swapped: string[] }
    | { error: string };

  async function runStep(spec: PipelineSpec, step: Step, faults?: (point: string) => void): Promise<Outcome> {
    const runId = await startRun(db.wh, spec, { chunks: step.files.length, fullRefresh: step.fullRefresh });
    for (const file of step.files) await loadFixtureChunk(db.wh, runId, spec, file);
    try {
      const { runId: _, ...result } = await commitRun(db.wh, {
        runId,
        spec,
        files: [],
        expectedChunks: step.files.length,
        faults: faults && { hit: async (point) => faults(point) },
      });
      return { runId, result, swapped: await swappedBy(runId) };
    } catch (err) {
      return { error: `${(err as Error).constructor.name}: ${(err as Error).message}` };
    }
  }

  async function swappedBy(runId: string): Promise<string[]> {
    const { rows } = await db.wh.query<{ swapped: string[] }>(
      `SELECT summary -> 'swapped' AS swapped FROM sluice.runs WHERE run_id = $1`,
      [runId],
    );
    return rows[0]!.swapped;
  }

  /** Runs the steps with swaps off and on; expects equal outcomes and tables; returns the swapped lists. */
  async function sameEitherWay(
    steps: Step[],
    destination: Partial<DestinationSpec> = {},
    setup?: (schema: string) => Promise<unknown>,
  ) {
    const off = await pipeline(false, destination);
    const on = await pipeline(true, destination);
    await setup?.(off.destination.schema);
    await setup?.(on.destination.schema);
    const swapped: (string[] | undefined)[] = [];
    for (const step of steps) {
      const a = await runStep(off, step);
      const b = await runStep(on, step);
      if ('error' in a || 'error' in b) {
        const unnamed = (o: Outcome) => ('error' in o ? o.error.replace(/swap_\d+/g, 'swap_N') : o);
        expect(unnamed(b)).toEqual(unnamed(a));
        swapped.push(undefined);
      } else {
        expect(a.swapped).toEqual([]);
        expect(b.result).toEqual(a.result);
        swapped.push(b.swapped);
      }
      expect(await targetRows(db.wh, on.destination)).toEqual(await targetRows(db.wh, off.destination));
    }
    return { swapped, on, off };
  }

  /** Sluice's partition of the orders table for 2024-<month>, created and never written. */
  async function createPartition(schema: string, month: string) {
    const next = String(Number(month) + 1).padStart(2, '0');
    await db.wh.query(
      `CREATE TABLE ${schema}.orders_p2024${month} PARTITION OF ${schema}.orders
         FOR VALUES FROM ('2024-${month}-01') TO ('2024-${next}-01')`,
    );
  }

  const createFebruary = (schema: string) => createPartition(schema, '02');

  /** Tables the run's swap wrote that are still around under their temporary name. */
  async function newTablesOf(runId: string) {
    const { rowCount } = await db.wh.query(`SELECT 1 FROM pg_class WHERE relname LIKE $1 AND relkind = 'r'`, [
      `sluice_new_${runId.replaceAll('-', '').slice(0, 12)}%`,
    ]);
    return rowCount;
  }

  async function partitionsOf(dest: DestinationSpec) {
    const { rows } = await db.wh.query<{ name: string; bound: string; indexes: string }>(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound,
              (SELECT count(*) FROM pg_index x WHERE x.indrelid = c.oid)::text AS indexes
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = to_regclass($1) ORDER BY 1`,
      [`${dest.schema}.${dest.table}`],
    );
    return rows;
  }

  it('swaps the empty partitions of a first upsert, and merges into them once they hold rows', async () => {
    // An index of the target's own: the new tables get it built before they are attached.
    const { swapped, on, off } = await sameEitherWay(
      [{ files: ['run2-upsert.csv'] }, { files: ['run2-february.csv'] }],
      {},
      (schema) => db.wh.query(`CREATE INDEX ON ${schema}.orders (customer)`),
    );
    expect(swapped).toEqual([['orders_p202401', 'orders_p202402', 'orders_p202403'], []]);
    // Same partitions, names, bounds and indexes as the table that was merged into.
    expect(await partitionsOf(on.destination)).toEqual(await partitionsOf(off.destination));
    // The swapped-in partitions carry the primary key: a repeated key still fails.
    await expect(
      db.wh.query(`INSERT INTO ${on.destination.schema}.orders VALUES (5, '2024-03-20', 'x', 1, NULL)`),
    ).rejects.toMatchObject({ code: '23505' });
    // Nothing of the swap is left behind.
    const leftovers = await db.wh.query(
      `SELECT relname FROM pg_class WHERE relname LIKE 'sluice_new_%' OR relname LIKE '%\\_swap'`,
    );
    expect(leftovers.rows).toEqual([]);
  });

  it('merges instead when a key repeats within the run (the bulk key build refuses it)', async () => {
    const { swapped } = await sameEitherWay([{ files: ['run1-chunk-0.csv', 'run1-chunk-1.csv'] }]);
    expect(swapped).toEqual([[]]);
  });

  it('append: a key already in the target still fails the run, with the new partition not swapped', async () => {
    const { swapped } = await sameEitherWay(
      [{ files: ['run2-upsert.csv'] }, { files: ['run2-duplicate.csv'] }],
      { mode: 'append' },
    );
    expect(swapped[0]).toHaveLength(3);
    expect(swapped[1]).toBeUndefined();
  });

  it('append with a duplicate: the merge’s DuplicateKeyError, and no new table is left', async () => {
    const spec = await pipeline(true, { mode: 'append' });
    await runStep(spec, { files: ['run2-upsert.csv'] });
    const runId = await startRun(db.wh, spec, { chunks: 1 });
    await loadFixtureChunk(db.wh, runId, spec, 'run2-duplicate.csv');
    await expect(commitRun(db.wh, { runId, spec, files: [], expectedChunks: 1 })).rejects.toBeInstanceOf(
      DuplicateKeyError,
    );
    expect(await newTablesOf(runId)).toBe(0);
  });

  it('replace-partitions: swaps only partitions that were empty, deletes and merges the replaced ones', async () => {
    // A CHECK on the target: the new tables carry it.
    const { swapped, on } = await sameEitherWay(
      [{ files: ['run2-upsert.csv'] }, { files: ['run2-february.csv'] }],
      { mode: 'replace-partitions' },
      (schema) => db.wh.query(`ALTER TABLE ${schema}.orders ADD CONSTRAINT positive CHECK (amount > 0)`),
    );
    await expect(
      db.wh.query(`INSERT INTO ${on.destination.schema}.orders VALUES (9, '2024-02-11', 'x', -1, NULL)`),
    ).rejects.toMatchObject({ code: '23514' });
    // February held a row: an older snapshot reading it after a swap would find that row gone.
    expect(swapped).toEqual([['orders_p202401', 'orders_p202402', 'orders_p202403'], []]);
  });

  it('replace-partitions never drops a partition holding rows outside the unit it replaces', async () => {
    const spec = await pipeline(true, { mode: 'replace-partitions' });
    const s = spec.destination.schema;
    // Named as Sluice names February's partition, but bound to February through April.
    await db.wh.query(
      `CREATE TABLE ${s}.orders_p202402 PARTITION OF ${s}.orders FOR VALUES FROM ('2024-02-01') TO ('2024-05-01')`,
    );
    await db.wh.query(`INSERT INTO ${s}.orders VALUES (8, '2024-03-10', 'henry', 80, NULL)`);
    const outcome = await runStep(spec, { files: ['run2-february.csv'] });
    expect(outcome).toMatchObject({ swapped: [], result: { loaded: 1, replaced: 0 } });
    const rows = await targetRows(db.wh, spec.destination);
    expect(rows.map((r) => String(r.order_id))).toEqual(['6', '8']);
  });

  it('full refresh: swaps the partitions that were empty, deletes and merges the others', async () => {
    const { swapped } = await sameEitherWay([
      { files: ['run2-february.csv'] },
      { files: ['run2-upsert.csv'], fullRefresh: true },
    ]);
    expect(swapped).toEqual([['orders_p202402'], ['orders_p202401', 'orders_p202403']]);
  });

  it('a partition below minRows is merged; the others are swapped', async () => {
    const { swapped } = await sameEitherWay([{ files: ['run2-upsert.csv'] }], {
      partitionSwap: { enabled: true, minRows: 2 },
    });
    // minRows applies to both pipelines here; none has two rows in a month.
    expect(swapped).toEqual([[]]);
  });

  it('never swaps where the swap could differ: triggers, foreign keys, grants, own indexes, a filled default partition', async () => {
    const triggered = await pipeline(true);
    const s = triggered.destination.schema;
    await db.wh.query(
      `CREATE FUNCTION ${s}.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
       CREATE TRIGGER noop BEFORE INSERT ON ${s}.orders FOR EACH ROW EXECUTE FUNCTION ${s}.noop()`,
    );
    expect(await runStep(triggered, { files: ['run2-upsert.csv'] })).toMatchObject({ swapped: [] });

    // A foreign key: building it on a new table would lock the referenced table against writers.
    const referencing = await pipeline(true);
    const r = referencing.destination.schema;
    await db.wh.query(
      `CREATE TABLE ${r}.customers (name text PRIMARY KEY);
       INSERT INTO ${r}.customers VALUES ('alice'), ('carol'), ('erin');
       ALTER TABLE ${r}.orders ADD FOREIGN KEY (customer) REFERENCES ${r}.customers (name)`,
    );
    expect(await runStep(referencing, { files: ['run2-upsert.csv'] })).toMatchObject({ swapped: [] });

    const defaulted = await pipeline(true);
    await db.wh.query(
      `INSERT INTO ${defaulted.destination.schema}.orders VALUES (9, '1999-01-01', 'old', 1, NULL)`,
    );
    expect(await runStep(defaulted, { files: ['run2-upsert.csv'] })).toMatchObject({ swapped: [] });

    // Partition-level differences: only that partition is merged.
    const own = await pipeline(true);
    const o = own.destination.schema;
    await createFebruary(o);
    await db.wh.query(`CREATE INDEX feb_customer ON ${o}.orders_p202402 (customer)`);
    expect(await runStep(own, { files: ['run2-upsert.csv'] })).toMatchObject({
      swapped: ['orders_p202401', 'orders_p202403'],
    });
    const indexes = await db.wh.query(
      `SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = 'feb_customer'`,
      [o],
    );
    expect(indexes.rowCount).toBe(1);

    const granted = await pipeline(true);
    const g = granted.destination.schema;
    await createFebruary(g);
    await db.wh.query(`GRANT SELECT ON ${g}.orders_p202402 TO PUBLIC`);
    expect(await runStep(granted, { files: ['run2-upsert.csv'] })).toMatchObject({
      swapped: ['orders_p202401', 'orders_p202403'],
    });
  });

  it('never swaps out a partition whose rows were deleted: older snapshots may still see them', async () => {
    const spec = await pipeline(true);
    await runStep(spec, { files: ['run2-february.csv'] }); // orders_p202402 swapped in, one row
    await db.wh.query(`DELETE FROM ${spec.destination.schema}.orders`);
    expect(await runStep(spec, { files: ['run2-upsert.csv'] })).toMatchObject({
      swapped: ['orders_p202401', 'orders_p202403'],
    });
  });

  it('never swaps a published table (logical replication must see the rows as inserts)', async () => {
    const spec = await pipeline(true);
    await db.wh.query(`CREATE PUBLICATION swap_pub_${schemaNo} FOR TABLE ${spec.destination.schema}.orders`);
    try {
      expect(await runStep(spec, { files: ['run2-upsert.csv'] })).toMatchObject({ swapped: [] });
    } finally {
      await db.wh.query(`DROP PUBLICATION swap_pub_${schemaNo}`);
    }
  });

  it('a crash inside the commit after the swap leaves the table as it was; the retried commit swaps', async () => {
    const spec = await pipeline(true);
    const before = await partitionsOf(spec.destination);
    const runId = await startRun(db.wh, spec, { chunks: 1 });
    await loadFixtureChunk(db.wh, runId, spec, 'run2-upsert.csv');
    const commit = (crash: boolean) =>
      commitRun(db.wh, {
        runId,
        spec,
        files: [],
        expectedChunks: 1,
        faults: {
          hit: async (point) => {
            if (crash && point === 'inside-run-commit') throw new Error('crash inside the commit');
          },
        },
      });
    await expect(commit(true)).rejects.toThrow('crash inside the commit');
    expect(await targetRows(db.wh, spec.destination)).toEqual([]);
    // The partitions preparePartitions created (own transaction) are there, empty; nothing else.
    const after = await partitionsOf(spec.destination);
    expect(after.map((p) => p.name)).toEqual(
      [...before.map((p) => p.name), 'orders_p202401', 'orders_p202402', 'orders_p202403'].sort(),
    );
    expect(await newTablesOf(runId)).toBe(0);
    const result = await commit(false);
    expect(await newTablesOf(runId)).toBe(0);
    expect(result).toMatchObject({ read: 3, loaded: 3, written: 3 });
    expect(await swappedBy(runId)).toEqual(['orders_p202401', 'orders_p202402', 'orders_p202403']);
    expect(await targetRows(db.wh, spec.destination)).toHaveLength(3);
  });

  it.runIf(target.name === 'pg')(
    'a reader holding the table past the lock timeout makes the commit merge instead of waiting',
    async () => {
      const spec = await pipeline(true);
      // The partitions exist, never written (creating one waits for readers whatever the swap does).
      for (const m of ['01', '02', '03']) await createPartition(spec.destination.schema, m);
      const reader = new pg.Client({ connectionString: db.url });
      await reader.connect();
      try {
        await reader.query('BEGIN');
        await reader.query(`SELECT count(*) FROM ${spec.destination.schema}.orders`);
        // DETACH cannot have its lock: the new tables' rows go in through the parent instead.
        const outcome = await runStep(spec, { files: ['run2-upsert.csv'] });
        expect(outcome).toMatchObject({ swapped: [], result: { loaded: 3, written: 3 } });
        expect(await newTablesOf((outcome as { runId: string }).runId)).toBe(0);
        await reader.query('COMMIT');
      } finally {
        await reader.end();
      }
      expect(await targetRows(db.wh, spec.destination)).toHaveLength(3);
    },
  );

  it.runIf(target.name === 'pg')(
    'a REPEATABLE READ snapshot taken before the commit sees none of a swapped run, a later one all of it',
    async () => {
      const spec = await pipeline(true);
      const reader = new pg.Client({ connectionString: db.url });
      await reader.connect();
      try {
        await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        await reader.query('SELECT 1'); // the snapshot; the target is not touched yet
        const outcome = await runStep(spec, { files: ['run2-upsert.csv'] });
        expect(outcome).toMatchObject({ swapped: ['orders_p202401', 'orders_p202402', 'orders_p202403'] });
        const during = await reader.query(`SELECT count(*)::int AS n FROM ${spec.destination.schema}.orders`);
        expect(during.rows[0].n).toBe(0);
        await reader.query('COMMIT');
        const after = await reader.query(`SELECT count(*)::int AS n FROM ${spec.destination.schema}.orders`);
        expect(after.rows[0].n).toBe(3);
      } finally {
        await reader.end();
      }
    },
  );

  it.runIf(target.name === 'pg')('never swaps when the session does not read committed', async () => {
    const spec = await pipeline(true);
    const database = new URL(db.url!).pathname.slice(1);
    await db.wh.query(`ALTER DATABASE ${database} SET default_transaction_isolation = 'repeatable read'`);
    // Sessions opened from now on start transactions in REPEATABLE READ.
    const wh = new PgWarehouse({ connectionString: db.url!, max: 2 });
    try {
      const runId = await startRun(wh, spec, { chunks: 1 });
      await loadFixtureChunk(wh, runId, spec, 'run2-upsert.csv');
      await commitRun(wh, { runId, spec, files: [], expectedChunks: 1 });
      expect(await swappedBy(runId)).toEqual([]);
    } finally {
      await wh.close();
      await db.wh.query(`ALTER DATABASE ${database} RESET default_transaction_isolation`);
    }
  });

  it('another pipeline committing into the same table at the same time: both load, neither fails', async () => {
    const a = await pipeline(true);
    const b = {
      ...a,
      name: `${a.name}-b`,
      destination: { ...a.destination, partitionSwap: { enabled: false, minRows: 1 } },
    };
    const runA = await startRun(db.wh, a, { chunks: 1 });
    await loadFixtureChunk(db.wh, runA, a, 'run2-upsert.csv');
    const runB = await startRun(db.wh, b, { chunks: 1 });
    await loadFixtureChunk(db.wh, runB, b, 'run2-february.csv');
    const [ra, rb] = await Promise.all([
      commitRun(db.wh, { runId: runA, spec: a, files: [], expectedChunks: 1 }),
      commitRun(db.wh, { runId: runB, spec: b, files: [], expectedChunks: 1 }),
    ]);
    expect([ra.loaded, rb.loaded]).toEqual([3, 1]);
    const rows = await targetRows(db.wh, a.destination);
    expect(rows.map((r) => String(r.order_id)).sort()).toEqual(['1', '3', '5', '6']);
  });
});
