import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Warehouse } from '../../../functions/engine/ports/warehouse.js';
import { runPipelineLocally } from '../../../functions/local/runner.js';
import { type WarehouseTarget, warehouseTargets } from '../../integration/warehouse/targets.js';

export const FAULT_SPEC = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'orders.yaml');
export const FAULT_PIPELINE = 'fault-orders';
export const FAULT_TABLE = 'analytics.fault_orders';

/** Crash tests need a real server (a killed process, concurrent clients): pg, else PGlite with a warning. */
export const crashTarget: WarehouseTarget =
  warehouseTargets.find((t) => t.name === 'pg') ?? (warehouseTargets[0] as WarehouseTarget);

export function freshHome(tag: string): string {
  return mkdtempSync(join(tmpdir(), `sluice-${tag}-`));
}

/** What a user would compare between two loads: rows, a checksum over all of them, duplicates, bookmarks. */
export interface TargetState {
  rows: number;
  checksum: string;
  duplicateKeys: number;
  bookmarks: string[];
  succeededRuns: number;
  runningRuns: number;
  /** The pipeline's cursor state (moves in the commit; null for file sources, which use bookmarks). */
  cursor: unknown;
}

export async function targetState(
  wh: Warehouse,
  table = FAULT_TABLE,
  pipeline = FAULT_PIPELINE,
): Promise<TargetState> {
  const data = await wh.query<{ rows: number; checksum: string | null }>(
    `SELECT count(*)::int AS rows,
            md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t.order_id, t.order_date), '')) AS checksum
       FROM ${table} t`,
  );
  const dups = await wh.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${table} GROUP BY order_id, order_date HAVING count(*) > 1) d`,
  );
  const bookmarks = await wh.query<{ k: string }>(
    `SELECT object_key || '@' || etag AS k FROM sluice.file_bookmarks WHERE pipeline = $1 ORDER BY 1`,
    [pipeline],
  );
  const runs = await wh.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM sluice.runs WHERE pipeline = $1 GROUP BY status',
    [pipeline],
  );
  const byStatus = Object.fromEntries(runs.rows.map((r) => [r.status, r.n]));
  const cursor = await wh.query<{ state: unknown }>('SELECT state FROM sluice.cursors WHERE pipeline = $1', [
    pipeline,
  ]);
  return {
    rows: data.rows[0]!.rows,
    checksum: data.rows[0]!.checksum ?? '',
    duplicateKeys: dups.rows[0]!.n,
    bookmarks: bookmarks.rows.map((r) => r.k),
    succeededRuns: byStatus.succeeded ?? 0,
    runningRuns: byStatus.running ?? 0,
    cursor: cursor.rows[0]?.state ?? null,
  };
}

/** The running run of the pipeline once it is planned (its manifests are in staging). */
export async function plannedRunId(wh: Warehouse, pipeline = FAULT_PIPELINE): Promise<string | undefined> {
  const { rows } = await wh.query<{ run_id: string }>(
    `SELECT run_id FROM sluice.runs WHERE pipeline = $1 AND status = 'running' AND planned_at IS NOT NULL`,
    [pipeline],
  );
  return rows[0]?.run_id;
}

/** The run of the pipeline still marked running (a killed process leaves one). */
export async function runningRunId(wh: Warehouse, pipeline = FAULT_PIPELINE): Promise<string | undefined> {
  const { rows } = await wh.query<{ run_id: string }>(
    `SELECT run_id FROM sluice.runs WHERE pipeline = $1 AND status = 'running'`,
    [pipeline],
  );
  return rows[0]?.run_id;
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The reference every fault case is compared with: the fault spec loaded by a clean run into a scratch
 * database of the crash target (dropped afterwards).
 */
export async function cleanRunState(): Promise<TargetState> {
  const ref = await crashTarget.open();
  try {
    const result = await runPipelineLocally({
      specFile: FAULT_SPEC,
      home: freshHome('clean'),
      warehouse: ref.wh,
    });
    if (result.status !== 'succeeded') throw new Error(`the clean reference run failed: ${result.error}`);
    return await targetState(ref.wh);
  } finally {
    await ref.dispose();
  }
}

/** Drops everything runs create, so a case starts from an empty database. */
export async function resetDatabase(wh: Warehouse): Promise<void> {
  await wh.query(`DROP SCHEMA IF EXISTS analytics CASCADE; DROP SCHEMA IF EXISTS sluice CASCADE;
                  DROP SCHEMA IF EXISTS sluice_staging CASCADE`);
}
