import { randomUUID } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  beginRun,
  chunkLedgerEntry,
  ensureInternalSchema,
  ensureTargetTable,
  failRun,
  getRun,
  listRuns,
  loadChunkExactlyOnce,
  PipelineLockedError,
  RunStateError,
  renewLease,
  resumeRun,
  StagedChunkMismatchError,
  stagingTableName,
} from '../../../functions/engine/load/index.js';
import type { PipelineSpec } from '../../../functions/engine/spec/schema.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';
import {
  chunkFixture,
  fixturePath,
  loadFixtureChunk,
  madeRows,
  ordersSpec,
  stagedColumns,
  startRun,
} from './helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(warehouseTargets)('run lifecycle and exactly-once chunk loads on $name', (target) => {
  let db: TestWarehouse;
  let pipelineNo = 0;
  /** A spec of a pipeline of its own, so tests do not share locks. */
  const freshSpec = (): PipelineSpec => ({
    ...ordersSpec({ schema: 'runs_test' }).spec,
    name: `orders-${++pipelineNo}`,
  });
  const stagingCount = async (runId: string) =>
    (await db.wh.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${stagingTableName(runId)}`)).rows[0]!
      .n;

  beforeAll(async () => {
    db = await target.open();
    await ensureInternalSchema(db.wh);
    await ensureTargetTable(db.wh, ordersSpec({ schema: 'runs_test' }).spec.destination, {
      pipeline: 'orders',
      version: 1,
      hash: 'h',
    });
  });
  afterAll(() => db?.dispose());

  describe('exactly once per chunk', () => {
    it('loads a chunk, and loading it again is a no-op that reports the first counts', async () => {
      const spec = freshSpec();
      const runId = await startRun(db.wh, spec, { chunks: 2 });
      const first = await loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-0.csv');
      const again = await loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-0.csv');
      expect(first).toEqual({ status: 'loaded', counts: chunkFixture('run1-chunk-0.csv').counts });
      expect(again).toEqual({ status: 'already-loaded', counts: chunkFixture('run1-chunk-0.csv').counts });
      expect(await stagingCount(runId)).toBe(4);
      expect(await chunkLedgerEntry(db.wh, runId, 'run1-chunk-0.csv')).toEqual(
        chunkFixture('run1-chunk-0.csv').counts,
      );
      expect(await chunkLedgerEntry(db.wh, runId, 'run1-chunk-1.csv')).toBeUndefined();
    });

    it('keeps one copy when the same chunk loads concurrently', async () => {
      const spec = freshSpec();
      const runId = await startRun(db.wh, spec, { chunks: 1 });
      const results = await Promise.all(
        Array.from({ length: 6 }, () => loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-1.csv')),
      );
      expect(results.filter((r) => r.status === 'loaded')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'already-loaded')).toHaveLength(5);
      expect(await stagingCount(runId)).toBe(2);
    });

    it('loads a staged file given as a stream, with the CSV values intact', async () => {
      const spec = freshSpec();
      const runId = await startRun(db.wh, spec, { chunks: 1 });
      const { seq, counts } = chunkFixture('run1-chunk-0.csv');
      const result = await loadChunkExactlyOnce(db.wh, {
        runId,
        chunk: { id: 'c0', seq, route: 'fargate', bytes: 1 },
        columns: stagedColumns(spec),
        produce: madeRows(counts, () => createReadStream(fixturePath('run1-chunk-0.csv'))),
      });
      expect(result.status).toBe('loaded');
      const { rows } = await db.wh.query(
        `SELECT order_id, note, note IS NULL AS null_note, _sluice_seq, _sluice_ord FROM ${stagingTableName(runId)} ORDER BY _sluice_ord`,
      );
      expect(rows).toEqual([
        { order_id: 1, note: null, null_note: true, _sluice_seq: 0, _sluice_ord: 0 },
        { order_id: 2, note: 'first, version', null_note: false, _sluice_seq: 0, _sluice_ord: 1 },
        { order_id: 3, note: 'multi\nline "quoted"', null_note: false, _sluice_seq: 0, _sluice_ord: 2 },
        { order_id: 2, note: 'second version', null_note: false, _sluice_seq: 0, _sluice_ord: 3 },
      ]);
    });

    it('streams rows made during the load into COPY, then records their final counts in the ledger', async () => {
      const spec = freshSpec();
      const runId = await startRun(db.wh, spec, { chunks: 1 });
      const { seq, counts } = chunkFixture('run1-chunk-0.csv');
      const made = { read: 0, staged: 0, rejected: 0, filtered: 0 };
      let produced = 0;
      const result = await loadChunkExactlyOnce(db.wh, {
        runId,
        chunk: { id: 'streamed', seq, route: 'lambda', bytes: 1 },
        columns: stagedColumns(spec),
        produce: () => {
          produced++;
          const rows = createReadStream(fixturePath('run1-chunk-0.csv'));
          // The counts are only known once the rows are done, as when a chunk parses while it loads.
          const done = finished(rows).then(() => Object.assign(made, counts));
          return { rows, done };
        },
      });
      expect(result).toEqual({ status: 'loaded', counts });
      expect(await chunkLedgerEntry(db.wh, runId, 'streamed')).toEqual(counts);
      expect(await stagingCount(runId)).toBe(4);

      const again = await loadChunkExactlyOnce(db.wh, {
        runId,
        chunk: { id: 'streamed', seq, route: 'lambda', bytes: 1 },
        columns: stagedColumns(spec),
        produce: () => {
          produced++;
          throw new Error('a loaded chunk is never made again');
        },
      });
      expect(again).toEqual({ status: 'already-loaded', counts });
      expect(produced).toBe(1);
    });

    it('rolls the load back when what is made alongside the rows fails, or the rows themselves', async () => {
      const spec = freshSpec();
      const runId = await startRun(db.wh, spec, { chunks: 2 });
      const { seq, counts } = chunkFixture('run1-chunk-0.csv');
      const sideWriteFails = await loadChunkExactlyOnce(db.wh, {
        runId,
        chunk: { id: 'side', seq, route: 'lambda', bytes: 1 },
        columns: stagedColumns(spec),
        produce: () => {
          const rows = createReadStream(fixturePath('run1-chunk-0.csv'));
          const done = finished(rows).then(() => Promise.reject(new Error('staged file write failed')));
          return { rows, done };
        },
      }).catch((e: unknown) => e);
      expect((sideWriteFails as Error).message).toBe('staged file write failed');

      const sourceFails = await loadChunkExactlyOnce(db.wh, {
        runId,
        chunk: { id: 'source', seq: seq + 1, route: 'lambda', bytes: 1 },
        columns: stagedColumns(spec),
        produce: () => {
          async function* broken() {
            yield readFileSync(fixturePath('run1-chunk-0.csv'));
            throw new Error('source connection reset');
          }
          const rows = Readable.from(broken(), { objectMode: false });
          return { rows, done: finished(rows).then(() => counts) };
        },
      }).catch((e: unknown) => e);
      expect((sourceFails as Error).message).toMatch(/source connection reset/);

      const badCounts = await loadChunkExactlyOnce(db.wh, {
        runId,
        chunk: { id: 'counts', seq: seq + 2, route: 'lambda', bytes: 1 },
        columns: stagedColumns(spec),
        produce: () => {
          const rows = createReadStream(fixturePath('run1-chunk-0.csv'));
          return { rows, done: finished(rows).then(() => ({ ...counts, staged: counts.staged + 1 })) };
        },
      }).catch((e: unknown) => e);
      expect(badCounts).toBeInstanceOf(Error);

      for (const id of ['side', 'source', 'counts'])
        expect(await chunkLedgerEntry(db.wh, runId, id), id).toBeUndefined();
      expect(await stagingCount(runId)).toBe(0);
    });

    it('fails when the staged file holds other than counts.staged rows, loading nothing', async () => {
      const spec = freshSpec();
      const runId = await startRun(db.wh, spec, { chunks: 1 });
      const err = await loadChunkExactlyOnce(db.wh, {
        runId,
        chunk: { id: 'short', seq: 0, route: 'lambda', bytes: 1 },
        columns: stagedColumns(spec),
        produce: madeRows({ read: 5, staged: 5, rejected: 0, filtered: 0 }, () =>
          readFileSync(fixturePath('run1-chunk-1.csv')),
        ),
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StagedChunkMismatchError);
      expect((err as Error).message).toMatch(
        /holds 2 rows but its counts say 5 staged; the staged file is corrupt/,
      );
      expect(await chunkLedgerEntry(db.wh, runId, 'short')).toBeUndefined();
      expect(await stagingCount(runId)).toBe(0);
    });

    it('fails on a corrupt staged file, leaving no ledger row so a retry can load it', async () => {
      const spec = freshSpec();
      const runId = await startRun(db.wh, spec, { chunks: 1 });
      await expect(loadFixtureChunk(db.wh, runId, spec, 'corrupt.csv')).rejects.toThrow(
        /invalid input syntax/,
      );
      expect(await chunkLedgerEntry(db.wh, runId, 'corrupt.csv')).toBeUndefined();
    });

    it('fails when the counts do not add up or the columns lack the seq and ordinal', async () => {
      const spec = freshSpec();
      const runId = await startRun(db.wh, spec, { chunks: 1 });
      const base = {
        runId,
        chunk: { id: 'x', seq: 0, route: 'lambda' as const, bytes: 1 },
      };
      await expect(
        loadChunkExactlyOnce(db.wh, {
          ...base,
          produce: madeRows({ read: 3, staged: 1, rejected: 1, filtered: 0 }, () => Buffer.from('')),
          columns: stagedColumns(spec),
        }),
      ).rejects.toThrow(/counts do not add up/);
      await expect(
        loadChunkExactlyOnce(db.wh, {
          ...base,
          produce: madeRows({ read: 0, staged: 0, rejected: 0, filtered: 0 }, () => Buffer.from('')),
          columns: Object.keys(spec.destination.columns),
        }),
      ).rejects.toThrow(/then _sluice_seq and _sluice_ord/);
    });

    it('fails when the run is not running', async () => {
      const spec = freshSpec();
      const runId = await startRun(db.wh, spec, { chunks: 1 });
      await failRun(db.wh, runId, 'stopped by test');
      const err = await loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-1.csv').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RunStateError);
      expect((err as Error).message).toBe(
        `cannot load chunk run1-chunk-1.csv: run ${runId} is failed, not running`,
      );
    });
  });

  describe('the pipeline lock', () => {
    it('fails to begin a second run while the first is live, naming the run, holder and since when', async () => {
      const spec = freshSpec();
      const first = await startRun(db.wh, spec, { chunks: 1, holder: 'sfn:execution-1' });
      const startedAt = (await getRun(db.wh, first))!.startedAt;
      const err = await startRun(db.wh, spec, { chunks: 1, holder: 'sfn:execution-2' }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PipelineLockedError);
      expect((err as Error).name).toBe('PipelineLockedError');
      expect((err as Error).message).toContain(
        `locked by run ${first} (holder sfn:execution-1) since ${startedAt}`,
      );
      expect((await getRun(db.wh, first))!.status).toBe('running');
    });

    it('lets exactly one of two concurrent beginRuns win', async () => {
      const spec = freshSpec();
      const outcomes = await Promise.allSettled([
        startRun(db.wh, spec, { chunks: 1, holder: 'a' }),
        startRun(db.wh, spec, { chunks: 1, holder: 'b' }),
      ]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const rejected = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      expect(rejected.reason).toBeInstanceOf(PipelineLockedError);
    });

    it('takes over from a holder that is no longer alive, abandoning its run and dropping its staging', async () => {
      const spec = freshSpec();
      const stale = await startRun(db.wh, spec, { chunks: 1, holder: 'local:host:123' });
      const runId = randomUUID();
      const result = await beginRun(db.wh, {
        runId,
        pipeline: spec.name,
        specVersion: 1,
        specHash: 'h',
        trigger: {},
        fullRefresh: false,
        holder: 'local:host:456',
        leaseSeconds: 600,
        isHolderAlive: (holder) => holder !== 'local:host:123',
      });
      expect(result.abandoned).toEqual([
        {
          runId: stale,
          holder: 'local:host:123',
          reason: `abandoned: its holder local:host:123 is no longer alive; run ${runId} took over the pipeline`,
        },
      ]);
      const old = await getRun(db.wh, stale);
      expect(old).toMatchObject({ status: 'abandoned', error: result.abandoned[0]!.reason });
      const staging = await db.wh.query('SELECT to_regclass($1) AS t', [stagingTableName(stale)]);
      expect(staging.rows).toEqual([{ t: null }]);
      await expect(loadFixtureChunk(db.wh, stale, spec, 'run1-chunk-1.csv')).rejects.toThrow(
        /is abandoned, not running/,
      );
    });

    it('takes over a run whose lease expired', async () => {
      const spec = freshSpec();
      const stale = randomUUID();
      const begin = (runId: string, leaseSeconds: number) =>
        beginRun(db.wh, {
          runId,
          pipeline: spec.name,
          specVersion: 1,
          specHash: 'h',
          trigger: {},
          fullRefresh: false,
          holder: runId,
          leaseSeconds,
        });
      await begin(stale, 0.05);
      await sleep(120);
      const result = await begin(randomUUID(), 600);
      expect(result.abandoned.map((a) => a.runId)).toEqual([stale]);
      expect(result.abandoned[0]!.reason).toMatch(/its lease expired at/);
    });

    it('treats a repeated beginRun of the same running run as already started', async () => {
      const spec = freshSpec();
      const runId = await startRun(db.wh, spec, { chunks: 1 });
      const again = await beginRun(db.wh, {
        runId,
        pipeline: spec.name,
        specVersion: 1,
        specHash: 'h',
        trigger: {},
        fullRefresh: false,
        holder: 'test-holder',
        leaseSeconds: 600,
      });
      expect(again).toMatchObject({ runId, alreadyStarted: true, abandoned: [] });
      expect(await renewLease(db.wh, runId, 1200)).toBe(true);
    });

    it('releases the lock on failRun (idempotent), and resumeRun takes it back for a redrive', async () => {
      const spec = freshSpec();
      const runId = await startRun(db.wh, spec, { chunks: 2 });
      await loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-0.csv');
      expect(await failRun(db.wh, runId, 'chunk 1 timed out')).toBe('failed');
      expect(await failRun(db.wh, runId, 'again')).toBe('failed');
      expect(await failRun(db.wh, randomUUID(), 'no such run')).toBeUndefined();
      expect(await getRun(db.wh, runId)).toMatchObject({
        status: 'failed',
        error: 'chunk 1 timed out',
        chunksLoaded: 1,
      });
      const lock = await db.wh.query('SELECT run_id FROM sluice.pipeline_locks WHERE pipeline = $1', [
        spec.name,
      ]);
      expect(lock.rows).toEqual([{ run_id: null }]);

      const resumed = await resumeRun(db.wh, { runId, holder: 'redrive', leaseSeconds: 600 });
      expect(resumed.alreadyStarted).toBe(false);
      expect(await loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-0.csv')).toMatchObject({
        status: 'already-loaded',
      });
      expect(await loadFixtureChunk(db.wh, runId, spec, 'run1-chunk-1.csv')).toMatchObject({
        status: 'loaded',
      });
      expect(await stagingCount(runId)).toBe(6);
      expect(await getRun(db.wh, runId)).toMatchObject({
        status: 'running',
        holder: 'redrive',
        chunksLoaded: 2,
      });
    });
  });

  it('lists runs newest first, per pipeline', async () => {
    const spec = freshSpec();
    const first = await startRun(db.wh, spec, { chunks: 0 });
    await failRun(db.wh, first, 'first failed');
    const second = await startRun(db.wh, spec, { chunks: 3 });
    const runs = await listRuns(db.wh, { pipeline: spec.name, limit: 10 });
    expect(runs.map((r) => [r.runId, r.status])).toEqual([
      [second, 'running'],
      [first, 'failed'],
    ]);
    expect(runs[0]).toMatchObject({
      chunkCount: 3,
      chunksLoaded: 0,
      trigger: { type: 'test' },
      fullRefresh: false,
    });
    expect(typeof runs[0]!.startedAt).toBe('string');
    expect((await listRuns(db.wh, { limit: 1 })).length).toBe(1);
  });
});
