import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../../../bin/cli/ui/server.js';
import { readSchedules } from '../../../bin/cli/ui/start.js';
import { FolderStorage } from '../../../functions/adapters/storage/folder.js';
import { getRun, type RunRecord } from '../../../functions/engine/read-side/index.js';
import { type ConsoleRuns, seedConsoleRuns } from '../../support/console-runs.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';

/** Reads the number a page shows in `<dd data-count="key">` (or any element with that attribute). */
function shownCount(body: string, key: string): number {
  const m = new RegExp(`data-count="${key}">([0-9,]+)<`).exec(body);
  if (!m) throw new Error(`no data-count="${key}" on the page`);
  return Number(m[1]!.replaceAll(',', ''));
}

/** The console's pages over two real runs (one failed) on the real PostgreSQL and on PGlite. */
describe.each(warehouseTargets)('sluice ui pages on $name', (target) => {
  let db: TestWarehouse;
  let runs: ConsoleRuns;
  let app: ReturnType<typeof createConsoleApp>;
  const get = async (path: string, init?: RequestInit) => {
    const res = await app.request(path, init);
    return { status: res.status, body: await res.text(), headers: res.headers };
  };

  beforeAll(async () => {
    db = await target.open();
    runs = await seedConsoleRuns({ warehouse: db.wh });
    app = createConsoleApp({
      db: db.wh,
      staging: new FolderStorage(`${runs.home}/staging`),
      schedules: async () => readSchedules('pipelines'),
    });
  }, 120_000);
  afterAll(() => db?.dispose());

  it('lists the pipeline with its last run (the failed one), freshness of the last success and schedule', async () => {
    const { status, body } = await get('/');
    expect(status).toBe(200);
    expect(body).toContain('<html lang="en">');
    expect(body).toContain(`href="/runs/${runs.failed}"`);
    expect(body).toMatch(/class="status s-failed">failed</);
    expect(body).toContain('cron(0 2 * * ? *)');
  });

  it("shows a succeeded run's counts exactly as the read side records them, and that they add up", async () => {
    const run = (await getRun(db.wh, runs.succeeded)) as RunRecord;
    const { body } = await get(`/runs/${runs.succeeded}`);
    for (const key of ['read', 'loaded', 'rejected', 'filtered', 'uncommitted'] as const)
      expect(shownCount(body, key), key).toBe(run.counts[key]);
    expect(run.counts).toMatchObject({ read: 4808, rejected: 18, filtered: 60, deduplicated: 6 });
    expect(body).toContain('54 by rules, 6 duplicate keys');
    expect(body).toContain('data-adds-up="true"');
    for (const p of run.partitions) expect(body).toContain(`<li>${p}</li>`);
    expect(body).toContain('run.committed');
  });

  it('shows a failed run with its error and the counts of the chunks it staged, nothing loaded', async () => {
    const run = (await getRun(db.wh, runs.failed)) as RunRecord;
    const { body } = await get(`/runs/${runs.failed}`);
    expect(body).toContain('role="alert"');
    expect(body).toContain('did not commit');
    expect(shownCount(body, 'loaded')).toBe(0);
    expect(shownCount(body, 'rejected')).toBe(18);
    expect(shownCount(body, 'read')).toBe(4808);
    expect(shownCount(body, 'uncommitted')).toBe(run.counts.uncommitted);
    expect(run.counts.uncommitted).toBeGreaterThan(0);
    expect(body).toContain('data-adds-up="true"');
    expect(run.status).toBe('failed');
  });

  it('escapes hostile data from a rejected row everywhere it shows it', async () => {
    const { body } = await get(`/runs/${runs.succeeded}/rejects?column=quantity`);
    expect(body).not.toContain('<script>alert(1)</script>');
    expect(body).not.toContain('<img src=x');
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(body).toContain('orders-2026-07.csv:2');
  });

  it('filters rejects by column and by reason, counting every match', async () => {
    const all = await get(`/runs/${runs.succeeded}/rejects`);
    expect(shownCount(all.body, 'total')).toBe(18);
    expect(shownCount(all.body, 'matched')).toBe(18);
    const byColumn = await get(`/runs/${runs.succeeded}/rejects?column=quantity`);
    expect(shownCount(byColumn.body, 'matched')).toBe(7);
    expect(byColumn.body.match(/<tr class="reject">/g)).toHaveLength(7);
    const byReason = await get(`/runs/${runs.succeeded}/rejects?reason=${encodeURIComponent('is required')}`);
    expect(shownCount(byReason.body, 'matched')).toBe(6);
  });

  it("shows a table's partitions with exact row counts that sum to the table's rows", async () => {
    const { body } = await get('/tables/analytics/orders');
    const count = await db.wh.query<{ n: number }>('SELECT count(*)::int AS n FROM analytics.orders');
    expect(shownCount(body, 'rows')).toBe(count.rows[0]!.n);
    expect(body).toContain('data-partition="orders_p202607"');
    expect((await get('/tables')).body).toContain('href="/tables/analytics/orders"');
  });

  it('draws the run history from local assets only, under a policy that allows nothing else', async () => {
    const { body, headers } = await get('/pipelines/orders');
    expect(body).toContain('<script src="/assets/uplot.js" defer></script>');
    expect(body).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(headers.get('content-security-policy')).toContain("default-src 'none'");
    expect((await get('/assets/uplot.js')).body).toContain('uPlot');
  });

  it('fails when asked to change anything, for an unknown run, or from a foreign Host', async () => {
    expect((await get('/', { method: 'POST' })).status).toBe(405);
    expect((await get('/runs/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await get('/runs/not-a-uuid')).status).toBe(404);
    const guarded = createConsoleApp({
      db: db.wh,
      staging: new FolderStorage(`${runs.home}/staging`),
      allowedHosts: () => ['127.0.0.1:7780'],
    });
    const rebound = await guarded.request('http://evil.example/', { headers: { host: 'evil.example' } });
    expect(rebound.status).toBe(421);
  });
});
