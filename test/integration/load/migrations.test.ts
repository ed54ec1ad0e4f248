import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureInternalSchema, MIGRATIONS } from '../../../functions/engine/load/index.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';

describe.each(warehouseTargets)('internal schema migrations on $name', (target) => {
  let db: TestWarehouse;
  beforeAll(async () => {
    db = await target.open();
  });
  afterAll(() => db?.dispose());

  it('applies every migration once, even when many callers race, and records each', async () => {
    const results = await Promise.all([1, 2, 3, 4].map(() => ensureInternalSchema(db.wh)));
    const allVersions = MIGRATIONS.map((m) => m.version);
    expect(results.flat().sort()).toEqual(allVersions);
    const { rows } = await db.wh.query('SELECT version, name FROM sluice.schema_migrations ORDER BY version');
    expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
  });

  it('is a no-op when already up to date', async () => {
    expect(await ensureInternalSchema(db.wh)).toEqual([]);
  });

  it('creates the tables of the load protocol', async () => {
    const { rows } = await db.wh.query<{ name: string }>(
      `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'sluice' AND c.relkind = 'r' ORDER BY 1`,
    );
    expect(rows.map((r) => r.name)).toEqual([
      'sluice.audit_log',
      'sluice.cursors',
      'sluice.file_bookmarks',
      'sluice.pipeline_locks',
      'sluice.run_chunks',
      'sluice.runs',
      'sluice.schema_migrations',
      'sluice.table_versions',
    ]);
    const staging = await db.wh.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'sluice_staging'`);
    expect(staging.rowCount).toBe(1);
  });

  describe('constraints that make wrong states impossible', () => {
    const run = (status: string, extra = '') =>
      `INSERT INTO sluice.runs (run_id, pipeline, status, spec_version, spec_hash, holder${extra ? ', finished_at, error' : ''})
       VALUES (gen_random_uuid(), 'orders', '${status}', 1, 'h', 'me'${extra})`;

    it('fails when a run has an unknown status', async () => {
      await expect(db.wh.query(run('paused'))).rejects.toThrow(/check constraint/);
    });

    it('fails when a failed run has no finish time or no error', async () => {
      await expect(db.wh.query(run('failed', ", NULL, 'boom'"))).rejects.toThrow(
        /runs_finished_iff_not_running/,
      );
      await expect(db.wh.query(run('failed', ', now(), NULL'))).rejects.toThrow(
        /runs_error_iff_unsuccessful/,
      );
    });

    it('fails when a succeeded run has counts that do not add up', async () => {
      await expect(
        db.wh.query(`INSERT INTO sluice.runs (run_id, pipeline, status, spec_version, spec_hash, holder, finished_at,
                       planned_at, chunk_count, rows_read, rows_loaded, rows_rejected, rows_filtered, rows_deduplicated)
                     VALUES (gen_random_uuid(), 'orders', 'succeeded', 1, 'h', 'me', now(), now(), 1, 10, 5, 1, 1, 1)`),
      ).rejects.toThrow(/runs_succeeded_counts/);
    });

    it('fails when a second run of a pipeline is running', async () => {
      await db.wh.query(run('running'));
      await expect(db.wh.query(run('running'))).rejects.toThrow(/runs_one_running_per_pipeline/);
      await db.wh.query(`DELETE FROM sluice.runs WHERE pipeline = 'orders'`);
    });
  });
});
