// The read side (functions/engine/read-side/) over real runs in the ledger, on PostgreSQL and PGlite, and through a text-only SQL port.
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderStorage } from '../../../functions/adapters/storage/folder.js';
import {
  commitRun,
  ensureInternalSchema,
  ensureTargetTable,
  failRun,
} from '../../../functions/engine/load/index.js';
import {
  getRun,
  getRunDetail,
  listRuns,
  pipelineState,
  pipelinesOverview,
  type ReadSql,
  readRejects,
  rejectReasons,
} from '../../../functions/engine/read-side/index.js';
import type { PipelineSpec } from '../../../functions/engine/spec/schema.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';
import { loadFixtureChunk, ordersSpec, startRun } from './helpers.js';

const FILES = [{ key: 'orders-2024-01.csv', etag: '"e1"', size: 123 }];
const REJECTS = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/read-side');

describe.each(warehouseTargets)('the read side on $name', (target) => {
  let db: TestWarehouse;
  let spec: PipelineSpec;
  let committed: string;
  let failed: string;
  let running: string;
  /** The same port as the RDS Data API gives: every value as text (JSON too), nothing parsed. */
  let textOnly: ReadSql;

  beforeAll(async () => {
    db = await target.open();
    await ensureInternalSchema(db.wh);
    spec = { ...ordersSpec({ schema: 'read_side' }).spec, name: 'orders-read' };
    await ensureTargetTable(db.wh, spec.destination, { pipeline: spec.name, version: 1, hash: 'h' });
    committed = await startRun(db.wh, spec, { chunks: 2 });
    await loadFixtureChunk(db.wh, committed, spec, 'run1-chunk-0.csv');
    await loadFixtureChunk(db.wh, committed, spec, 'run1-chunk-1.csv');
    await commitRun(db.wh, { runId: committed, spec, files: FILES, expectedChunks: 2 });
    failed = await startRun(db.wh, spec, { chunks: 2 });
    await loadFixtureChunk(db.wh, failed, spec, 'run1-chunk-0.csv');
    await failRun(db.wh, failed, 'quality: 1 of 6 rows rejected (16.7%) exceeds maxRejectRatio 0.1');
    running = await startRun(db.wh, spec, { chunks: 2 });
    textOnly = async (sql, params) => {
      const { rows } = await db.wh.query<Record<string, unknown>>(sql, params);
      return {
        rows: rows.map((r) =>
          Object.fromEntries(
            Object.entries(r).map(([k, v]) => [
              k,
              v === null || typeof v === 'boolean'
                ? v
                : typeof v === 'object'
                  ? JSON.stringify(v)
                  : String(v),
            ]),
          ),
        ) as never[],
      };
    };
  });
  afterAll(() => db?.dispose());

  it("lists runs newest first, each with counts that add up, deduplicated rows and a failed run's ledger counts", async () => {
    const runs = await listRuns(db.wh, { pipeline: spec.name });
    expect(runs.map((r) => [r.runId, r.status])).toEqual([
      [running, 'running'],
      [failed, 'failed'],
      [committed, 'succeeded'],
    ]);
    for (const r of runs) {
      const c = r.counts;
      expect(c.read).toBe(c.loaded + c.rejected + c.filtered + c.uncommitted);
      expect(c.filtered).toBe(c.filteredByRule + c.deduplicated);
    }
    expect(runs[2]!.counts).toEqual({
      source: 'commit',
      read: 8,
      loaded: 4,
      rejected: 1,
      filtered: 3,
      filteredByRule: 1,
      deduplicated: 2,
      uncommitted: 0,
    });
    // The failed run committed nothing: its staged rows are uncommitted, its counts come from the ledger.
    expect(runs[1]!.counts).toEqual({
      source: 'ledger',
      read: 6,
      loaded: 0,
      rejected: 1,
      filtered: 1,
      filteredByRule: 1,
      deduplicated: 0,
      uncommitted: 4,
    });
    expect(runs[1]!.error).toMatch(/exceeds maxRejectRatio/);
    expect(await listRuns(db.wh, { pipeline: spec.name, status: 'failed' })).toHaveLength(1);
  });

  it('reads the same answers through a port that returns every value as text (the Data API)', async () => {
    expect(await listRuns(textOnly, { pipeline: spec.name })).toEqual(
      await listRuns(db.wh, { pipeline: spec.name }),
    );
    expect(await getRunDetail(textOnly, committed)).toEqual(await getRunDetail(db.wh, committed));
    expect(await pipelineState(textOnly, spec.name)).toEqual(await pipelineState(db.wh, spec.name));
    expect(await pipelinesOverview(textOnly)).toEqual(await pipelinesOverview(db.wh));
  });

  it('details a run: spec, phases in order, chunks with counts and timings, partitions, events', async () => {
    const detail = (await getRunDetail(db.wh, committed))!;
    expect(detail.run).toMatchObject({ specVersion: spec.version, specHash: 'test', status: 'succeeded' });
    expect(detail.phases.map((p) => p.name)).toEqual(['prepare', 'chunks', 'commit']);
    for (const p of detail.phases) expect(p.durationMs).toBeGreaterThanOrEqual(0);
    expect(detail.phases[0]!.startedAt).toBe(detail.run.startedAt);
    expect(detail.phases[2]!.finishedAt).toBe(detail.run.finishedAt);
    expect(detail.chunks.map((c) => [c.chunkId, c.read, c.staged, c.rejected, c.filtered])).toEqual([
      ['run1-chunk-0.csv', 6, 4, 1, 1],
      ['run1-chunk-1.csv', 2, 2, 0, 0],
    ]);
    for (const c of detail.chunks) {
      expect(Date.parse(c.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(c.startedAt!));
      expect(c.durationMs).toBe(Date.parse(c.finishedAt!) - Date.parse(c.startedAt!));
    }
    expect(detail.partitions).toEqual(['orders_p202401', 'orders_p202402', 'orders_p202403']);
    expect(detail.events?.map((e) => e.kind)).toEqual(['run.started', 'run.committed']);
    expect(detail.warnings).toEqual([]);
  });

  it("ends a failed run's phases where it failed, and a running run's chunks phase stays open", async () => {
    const failedDetail = (await getRunDetail(db.wh, failed))!;
    expect(failedDetail.phases.map((p) => p.name)).toEqual(['prepare', 'chunks']);
    expect(failedDetail.phases[1]!.finishedAt).toBe(failedDetail.run.finishedAt);
    expect(failedDetail.events?.map((e) => e.kind)).toEqual(['run.started', 'run.failed']);
    const runningDetail = (await getRunDetail(db.wh, running))!;
    expect(runningDetail.phases.at(-1)).toMatchObject({ name: 'chunks' });
    expect(runningDetail.phases.at(-1)!.finishedAt).toBeUndefined();
  });

  it('warns when the staging it was given holds fewer rejects than the ledger counts', async () => {
    const empty = new FolderStorage(mkdtempSync(join(tmpdir(), 'sluice-read-side-empty-')));
    const detail = (await getRunDetail(db.wh, committed, { staging: empty }))!;
    expect(detail.topRejectReasons).toEqual([]);
    expect(detail.warnings).toEqual([
      `the ledger counts 1 rejected row(s) but the rejects files under ${empty.url}/runs/${committed}/rejects/ hold 0: is this the staging the run wrote to?`,
    ]);
  });

  it('returns undefined for a run that does not exist or is not a UUID', async () => {
    expect(await getRun(db.wh, randomUUID())).toBeUndefined();
    expect(await getRunDetail(db.wh, 'not-a-run')).toBeUndefined();
  });

  it("shows a pipeline's bookmarks and the lock of its running run", async () => {
    const state = await pipelineState(db.wh, spec.name);
    expect(state.bookmarks).toEqual([
      { key: 'orders-2024-01.csv', etag: '"e1"', size: 123, runId: committed, loadedAt: expect.any(String) },
    ]);
    expect(state.cursor).toBeUndefined();
    expect(state.lock).toMatchObject({ runId: running, holder: 'test-holder' });
  });

  it('gives an overview per pipeline: last run, runs, freshness of the last success', async () => {
    const overview = (await pipelinesOverview(db.wh)).find((p) => p.pipeline === spec.name)!;
    expect(overview).toMatchObject({ runs: 3, lastRun: { runId: running, status: 'running' } });
    expect(overview.lastSucceededAt).toBe((await getRun(db.wh, committed))!.finishedAt);
    expect(overview.freshnessSeconds).toBeGreaterThanOrEqual(0);
  });
});

describe('rejects from staging', () => {
  const runId = randomUUID();
  let dir: string;
  let staging: FolderStorage;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-read-side-'));
    cpSync(REJECTS, join(dir, 'runs', runId, 'rejects'), { recursive: true });
    staging = new FolderStorage(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every reject in chunk order (chunk-00010 after chunk-00002), with the total', async () => {
    const page = await readRejects(staging, runId);
    expect(page.rows.map((r) => r.location)).toEqual([
      'orders-2024-01.csv:3',
      'orders-2024-01.csv:7',
      'orders-2024-02.csv:2',
      'orders-2024-02.csv:4',
      'orders-2024-02.csv:9',
    ]);
    expect(page).toMatchObject({ matched: 5, total: 5, location: `${staging.url}/runs/${runId}/rejects/` });
  });

  it('filters by column and by reason text (case-insensitive), and limits the page but not the count', async () => {
    const byColumn = await readRejects(staging, runId, { column: 'amount', limit: 2 });
    expect(byColumn.rows.map((r) => r.location)).toEqual(['orders-2024-01.csv:3', 'orders-2024-02.csv:2']);
    expect(byColumn.matched).toBe(3);
    const byReason = await readRejects(staging, runId, { reason: 'HEADER' });
    expect(byReason.rows).toEqual([
      {
        chunk: 'chunk-00010',
        location: 'orders-2024-02.csv:4',
        reason: 'has 5 fields, the header has 4',
        row: '11,2024-02-01,x,1,extra',
      },
    ]);
  });

  it('sums reasons over chunks, most frequent first', async () => {
    expect(await rejectReasons(staging, runId)).toEqual([
      { reason: 'amount: not a number: <value>', count: 3 },
      { reason: 'has 5 fields, the header has 4', count: 1 },
      { reason: 'order_date: not a calendar date: <value>', count: 1 },
    ]);
  });

  it('fails when the run id is not a UUID (no path outside the run)', async () => {
    await expect(readRejects(staging, '../../etc')).rejects.toThrow(/run id must be a UUID/);
  });
});
