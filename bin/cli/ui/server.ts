// `sluice ui`: the read-only local console, a Hono app on 127.0.0.1 over the read side and the staging folder.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Hono } from 'hono';
import type { Storage } from '../../../functions/engine/ports/storage.js';
import {
  getRun,
  getRunDetail,
  listRuns,
  pipelinesOverview,
  type ReadSource,
  readRejects,
} from '../../../functions/engine/read-side/index.js';
import { rejectColumns } from '../../../functions/engine/read-side/reject-columns.js';
import { listTargetTables, tablePartitions } from '../../../functions/engine/read-side/tables.js';
import { CONSOLE_JS } from './client-script.js';
import { CONSOLE_CSS } from './layout.js';
import {
  notFoundPage,
  pipelinesPage,
  rejectsPage,
  runHistoryPage,
  runPage,
  tablePage,
  tablesPage,
} from './pages.js';

export interface ConsoleSources {
  /** The ledger (sluice.*) and the target tables. */
  db: ReadSource;
  /** Where runs' rejects files are (runs/<run>/rejects/). */
  staging: Storage;
  /** Each pipeline's schedule from its spec, for the pipelines page. */
  schedules?: () => Promise<Map<string, string>>;
  now?: () => number;
  /** When set, requests whose Host header is not one of these are refused (DNS rebinding). */
  allowedHosts?: () => string[];
}

const require = createRequire(import.meta.url);
const asset = (path: string) => readFileSync(require.resolve(path), 'utf8');

/**
 * The console as a Hono app (tests call `app.request`). Read-only: GET only; every page sends a
 * Content-Security-Policy that allows nothing but this origin, so no page can load from elsewhere.
 */
export function createConsoleApp(src: ConsoleSources): Hono {
  const app = new Hono();
  const now = src.now ?? Date.now;
  const uplotJs = asset('uplot/dist/uPlot.iife.min.js');
  const uplotCss = asset('uplot/dist/uPlot.min.css');

  app.use('*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return c.text('the console is read-only\n', 405);
    const host = c.req.header('host') ?? '';
    if (src.allowedHosts && !src.allowedHosts().includes(host))
      return c.text(
        `the console answers only on ${src.allowedHosts().join(' or ')}, not on "${host}"\n`,
        421,
      );
    await next();
    c.header(
      'Content-Security-Policy',
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    );
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    return undefined;
  });

  const css = (body: string) =>
    new Response(body, { headers: { 'content-type': 'text/css; charset=utf-8' } });
  const js = (body: string) =>
    new Response(body, { headers: { 'content-type': 'text/javascript; charset=utf-8' } });
  app.get('/assets/console.css', () => css(CONSOLE_CSS));
  app.get('/assets/uplot.css', () => css(uplotCss));
  app.get('/assets/uplot.js', () => js(uplotJs));
  app.get('/assets/console.js', () => js(CONSOLE_JS));
  app.get('/favicon.ico', (c) => c.body(null, 204));

  app.get('/', async (c) => {
    const [pipelines, schedules] = await Promise.all([
      pipelinesOverview(src.db),
      src.schedules?.() ?? Promise.resolve(new Map<string, string>()),
    ]);
    return c.html(pipelinesPage(pipelines, schedules, now()));
  });

  app.get('/pipelines/:name', async (c) => {
    const pipeline = c.req.param('name');
    const runs = await listRuns(src.db, { pipeline, limit: 200 });
    if (runs.length === 0) return c.html(notFoundPage(`No runs of pipeline "${pipeline}".`), 404);
    return c.html(runHistoryPage(pipeline, runs));
  });

  app.get('/runs/:id', async (c) => {
    const runId = c.req.param('id');
    const detail = await getRunDetail(src.db, runId, { staging: src.staging });
    if (!detail) return c.html(notFoundPage(`No run "${runId}" in the ledger.`), 404);
    return c.html(runPage(detail));
  });

  app.get('/runs/:id/rejects', async (c) => {
    const runId = c.req.param('id');
    const run = await getRun(src.db, runId);
    if (!run) return c.html(notFoundPage(`No run "${runId}" in the ledger.`), 404);
    const q = c.req.query();
    const filter = {
      ...(q.column ? { column: q.column } : {}),
      ...(q.reason ? { reason: q.reason } : {}),
      limit: 500,
    };
    const [rows, columns] = await Promise.all([
      readRejects(src.staging, runId, filter),
      rejectColumns(src.staging, runId),
    ]);
    return c.html(rejectsPage(run, rows, columns, filter));
  });

  app.get('/tables', async (c) => c.html(tablesPage(await listTargetTables(src.db))));

  app.get('/tables/:schema/:table', async (c) => {
    const ref = { schema: c.req.param('schema'), table: c.req.param('table') };
    const known = (await listTargetTables(src.db)).some(
      (t) => t.schema === ref.schema && t.table === ref.table,
    );
    const partitions = known ? await tablePartitions(src.db, ref) : undefined;
    if (!partitions) return c.html(notFoundPage(`No target table ${ref.schema}.${ref.table}.`), 404);
    return c.html(tablePage(ref, partitions));
  });

  app.notFound((c) => c.html(notFoundPage(`Nothing at ${c.req.path}.`), 404));
  app.onError((err, c) => c.html(notFoundPage(`The console could not read this page: ${err.message}`), 500));
  return app;
}
