import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CommitResult,
  commitRun,
  DuplicateKeyError,
  ensureInternalSchema,
  ensureTargetTable,
  failRun,
  fileBookmarkKey,
  getRun,
  IncompleteRunError,
  loadedFiles,
  QualityCheckError,
  RunStateError,
  stagingTableName,
} from '../../../functions/engine/load/index.js';
import type { Warehouse } from '../../../functions/engine/ports/warehouse.js';
import type { DestinationSpec, PipelineSpec } from '../../../functions/engine/spec/schema.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';
import { loadFixtureChunk, ordersSpec, startRun, targetRows } from './helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FILES = [{ key: 'orders-2024-01.csv', etag: '"e1"', size: 123 }];

/** Every row read is loaded, rejected, filtered or deduplicated. */
function expectCountsAddUp(r: CommitResult) {
  expect(r.read).toBe(r.loaded + r.rejected + r.filtered + r.deduplicated);
}

describe.each(warehouseTargets)('commitRun on $name', (target) => {
  let db: TestWarehouse;
  let schemaNo = 0;

  /** A spec with its own target schema (and pipeline), its target table created. */
  async function freshPipeline(
    destination: Partial<DestinationSpec> = {},
    quality: Partial<PipelineSpec['quality']> = {},
  ): Promise<PipelineSpec> {
    schemaNo += 1;
    const { spec } = ordersSpec({ schema: `commit_${schemaNo}`, ...destination }, quality);
    const named = { ...spec, name: `orders-${schemaNo}` };
    await ensureTargetTable(db.wh, named.destination, { pipeline: named.name, version: 1, hash: 'h' });
    return named;
  }

  /** Runs the first load: both run1 chunks, committed. */
  async function loadRun1(spec: PipelineSpec) {
    const runId = await startRun(db.wh, spec, { chunks: 2 });
    await loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-0.csv');
    await loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-1.csv');
    return { runId, result: await commitRun(db.wh, { runId, spec, files: FILES, expectedChunks: 2 }) };
  }

  async function runWith(spec: PipelineSpec, file: string) {
    const runId = await startRun(db.wh, spec, { chunks: 1 });
    await loadFixtureChunk(db.wh, runId, spec, file);
    return runId;
  }

  beforeAll(async () => {
    db = await target.open();
    await ensureInternalSchema(db.wh);
  });
  afterAll(() => db?.dispose());

  describe('upsert', () => {
    it('keeps the latest row per key (later chunk, then later row) and counts the superseded ones', async () => {
      const spec = await freshPipeline();
      const { runId, result } = await loadRun1(spec);
      expect(result).toEqual({
        runId,
        read: 8,
        loaded: 4,
        rejected: 1,
        filtered: 1,
        deduplicated: 2,
        written: 4,
        replaced: 0,
        partitions: ['orders_p202401', 'orders_p202402', 'orders_p202403'],
        alreadyCommitted: false,
      });
      expectCountsAddUp(result);
      expect(await targetRows(db.wh, spec.destination)).toEqual([
        { order_id: 1, order_date: '2024-01-05', customer: 'alice', amount: '10.50', note: null },
        { order_id: 2, order_date: '2024-01-06', customer: 'bob', amount: '22.00', note: 'from chunk 1' },
        {
          order_id: 3,
          order_date: '2024-02-01',
          customer: 'carol',
          amount: '30.00',
          note: 'multi\nline "quoted"',
        },
        { order_id: 4, order_date: '2024-03-15', customer: 'dave', amount: '40.00', note: '' },
      ]);
      expect(await getRun(db.wh, runId)).toMatchObject({
        status: 'succeeded',
        read: 8,
        loaded: 4,
        rejected: 1,
        filtered: 1,
        deduplicated: 2,
        partitions: result.partitions,
      });
    });

    it('updates changed rows, inserts new ones, and counts unchanged rows as loaded but not written', async () => {
      const spec = await freshPipeline();
      await loadRun1(spec);
      const runId = await runWith(spec, 'run2-upsert.csv');
      const result = await commitRun(db.wh, { runId, spec, files: [], expectedChunks: 1 });
      expect(result).toMatchObject({ read: 3, loaded: 3, written: 2, deduplicated: 0 });
      const rows = await targetRows(db.wh, spec.destination);
      expect(rows.map((r) => [r.order_id, r.amount])).toEqual([
        [1, '10.50'],
        [2, '22.00'],
        [3, '35.00'],
        [4, '40.00'],
        [5, '50.00'],
      ]);
    });
  });

  describe('upsert (merge paths)', () => {
    // The merge first inserts without the dedupe sort and falls back to it when the primary key says a
    // key repeats: into an empty table (plain insert, unique_violation) and into a full one
    // (ON CONFLICT, "cannot affect row a second time"). Both must give the deduping merge's result.
    it('dedupes a run that repeats keys the target already holds, writing nothing unchanged', async () => {
      const spec = await freshPipeline();
      const first = await loadRun1(spec);
      const before = await targetRows(db.wh, spec.destination);
      const again = await loadRun1(spec);
      expect(again.result).toMatchObject({ read: 8, loaded: 4, deduplicated: 2, written: 0 });
      expectCountsAddUp(again.result);
      expect(first.result).toMatchObject({ loaded: 4, deduplicated: 2, written: 4 });
      expect(await targetRows(db.wh, spec.destination)).toEqual(before);
    });
  });

  describe('append', () => {
    it('keeps the latest row of a key repeated within the run, like upsert', async () => {
      const upsert = await freshPipeline();
      const append = await freshPipeline({ mode: 'append' });
      await loadRun1(upsert);
      const { result } = await loadRun1(append);
      expect(result).toMatchObject({ read: 8, loaded: 4, deduplicated: 2, written: 4 });
      expect(await targetRows(db.wh, append.destination)).toEqual(
        await targetRows(db.wh, upsert.destination),
      );
    });

    it('inserts every row when there is no key', async () => {
      const spec = await freshPipeline({ mode: 'append', key: undefined });
      const { result } = await loadRun1(spec);
      expect(result).toMatchObject({ read: 8, loaded: 6, deduplicated: 0, written: 6 });
      expectCountsAddUp(result);
      expect((await targetRows(db.wh, spec.destination)).length).toBe(6);
    });

    it('fails on a key already in the target, naming it, and changes nothing', async () => {
      const spec = await freshPipeline({ mode: 'append' });
      await loadRun1(spec);
      const before = await targetRows(db.wh, spec.destination);
      const runId = await runWith(spec, 'run2-duplicate.csv');
      const err = await commitRun(db.wh, { runId, spec, files: FILES, expectedChunks: 1 }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DuplicateKeyError);
      expect((err as Error).message).toMatch(
        /append into commit_\d+\.orders hit a key that is already in the table \(Key \(order_id, order_date\)=\(1, 2024-01-05\) already exists\)/,
      );
      expect(await targetRows(db.wh, spec.destination)).toEqual(before);
      expect((await getRun(db.wh, runId))!.status).toBe('running');
      expect(await failRun(db.wh, runId, (err as Error).message)).toBe('failed');
    });
  });

  describe('replace-partitions', () => {
    it('replaces exactly the partitions the run touches', async () => {
      const spec = await freshPipeline({ mode: 'replace-partitions' });
      await loadRun1(spec);
      const runId = await runWith(spec, 'run2-february.csv');
      const result = await commitRun(db.wh, { runId, spec, files: [], expectedChunks: 1 });
      expect(result).toMatchObject({ loaded: 1, replaced: 1, partitions: ['orders_p202402'] });
      const rows = await targetRows(db.wh, spec.destination);
      expect(rows.map((r) => [r.order_id, r.order_date])).toEqual([
        [1, '2024-01-05'],
        [2, '2024-01-06'],
        [4, '2024-03-15'],
        [6, '2024-02-10'],
      ]);
    });
  });

  it('replaces the whole table on a full refresh', async () => {
    const spec = await freshPipeline();
    await loadRun1(spec);
    const runId = await startRun(db.wh, spec, { chunks: 1, fullRefresh: true });
    await loadFixtureChunk(db.wh, runId, spec, 'run2-february.csv');
    const result = await commitRun(db.wh, { runId, spec, files: [], expectedChunks: 1 });
    expect(result).toMatchObject({ loaded: 1, replaced: 4 });
    expect((await targetRows(db.wh, spec.destination)).map((r) => r.order_id)).toEqual([6]);
  });

  it('bookmarks the files, moves the cursor, releases the lock and drops staging in the commit', async () => {
    const spec = await freshPipeline();
    const runId = await startRun(db.wh, spec, { chunks: 1 });
    await loadFixtureChunk(db.wh, runId, spec, 'run2-february.csv');
    await commitRun(db.wh, { runId, spec, files: FILES, expectedChunks: 1, cursor: { since: '2024-02-10' } });

    expect(await loadedFiles(db.wh, spec.name)).toEqual(
      new Set([fileBookmarkKey('orders-2024-01.csv', '"e1"')]),
    );
    const cursor = await db.wh.query('SELECT state, run_id FROM sluice.cursors WHERE pipeline = $1', [
      spec.name,
    ]);
    expect(cursor.rows).toEqual([{ state: { since: '2024-02-10' }, run_id: runId }]);
    const lock = await db.wh.query('SELECT run_id FROM sluice.pipeline_locks WHERE pipeline = $1', [
      spec.name,
    ]);
    expect(lock.rows).toEqual([{ run_id: null }]);
    const staging = await db.wh.query('SELECT to_regclass($1) AS t', [stagingTableName(runId)]);
    expect(staging.rows).toEqual([{ t: null }]);
    // The pipeline is free for the next run.
    await startRun(db.wh, spec, { chunks: 0 });
  });

  it('returns the recorded result when a commit is retried, changing nothing', async () => {
    const spec = await freshPipeline({ mode: 'append', key: undefined });
    const { runId, result } = await loadRun1(spec);
    const again = await commitRun(db.wh, { runId, spec, files: FILES, expectedChunks: 2 });
    expect(again).toEqual({ ...result, alreadyCommitted: true });
    expect((await targetRows(db.wh, spec.destination)).length).toBe(6);
  });

  describe('fails and leaves the target unchanged', () => {
    it('fails when chunks are missing, naming how many', async () => {
      const spec = await freshPipeline();
      const runId = await startRun(db.wh, spec, { chunks: 2 });
      await loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-0.csv');
      const err = await commitRun(db.wh, { runId, spec, files: [], expectedChunks: 2 }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(IncompleteRunError);
      expect((err as Error).message).toBe(`run ${runId} cannot commit: 1 of 2 chunks are not loaded (1 are)`);
    });

    it('fails when too many rows were rejected, with the numbers', async () => {
      const spec = await freshPipeline({}, { maxRejectRatio: 0.1 });
      const runId = await startRun(db.wh, spec, { chunks: 2 });
      await loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-0.csv');
      await loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-1.csv');
      const err = await commitRun(db.wh, { runId, spec, files: FILES, expectedChunks: 2 }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(QualityCheckError);
      expect((err as Error).name).toBe('QualityCheckError');
      expect((err as Error).message).toBe(
        'quality check failed: 1 of 8 rows rejected (12.5%), more than quality.maxRejectRatio 10%; nothing was loaded',
      );
      expect(await targetRows(db.wh, spec.destination)).toEqual([]);
      expect(await loadedFiles(db.wh, spec.name)).toEqual(new Set());
    });

    it('fails when fewer rows than quality.minRows would load, rolling the merge back', async () => {
      const spec = await freshPipeline({}, { minRows: 5 });
      const runId = await startRun(db.wh, spec, { chunks: 2 });
      await loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-0.csv');
      await loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-1.csv');
      await expect(commitRun(db.wh, { runId, spec, files: FILES, expectedChunks: 2 })).rejects.toThrow(
        'quality check failed: 4 rows to load, fewer than quality.minRows 5; nothing was loaded',
      );
      expect(await targetRows(db.wh, spec.destination)).toEqual([]);
      expect(await loadedFiles(db.wh, spec.name)).toEqual(new Set());
      expect((await getRun(db.wh, runId))!.status).toBe('running');
      // After failRun the run cannot be committed.
      await failRun(db.wh, runId, 'quality');
      await expect(commitRun(db.wh, { runId, spec, files: FILES, expectedChunks: 2 })).rejects.toBeInstanceOf(
        RunStateError,
      );
    });
  });

  it.runIf(target.name === 'pg')(
    'shows readers none of a run while its commit is in progress, then all of it',
    async () => {
      const spec = await freshPipeline({ mode: 'append', key: undefined });
      const runId = await startRun(db.wh, spec, { chunks: 2 });
      await loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-0.csv');
      await loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-1.csv');

      // Hold a lock the commit needs after it merged (the bookmarks insert), so it waits mid-transaction.
      let releaseBlocker!: () => void;
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
      const commit = commitRun(db.wh, { runId, spec, files: FILES, expectedChunks: 2 });
      await waitForLockWait(db.wh);

      // The merge has run inside the commit's transaction; another connection still sees nothing.
      expect((await targetRows(db.wh, spec.destination)).length).toBe(0);
      expect((await getRun(db.wh, runId))!.status).toBe('running');

      releaseBlocker();
      expect((await commit).loaded).toBe(6);
      expect((await targetRows(db.wh, spec.destination)).length).toBe(6);
    },
  );

  it.runIf(target.name === 'pglite')('makes a reader issued during a commit wait for all of it', async () => {
    const spec = await freshPipeline({ mode: 'append', key: undefined });
    const runId = await startRun(db.wh, spec, { chunks: 2 });
    await loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-0.csv');
    await loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-1.csv');
    const commit = commitRun(db.wh, { runId, spec, files: FILES, expectedChunks: 2 });
    const reads = await Promise.all(
      [1, 2, 3, 4, 5].map((ms) => sleep(ms).then(() => targetRows(db.wh, spec.destination))),
    );
    await commit;
    for (const rows of reads) expect([0, 6]).toContain(rows.length);
  });
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
