// Issue 12.7: `--backfill` on a source that has no cursor window (files) is refused, never ignored.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipelineLocally } from '../../functions/local/runner.js';
import { type TestWarehouse, warehouseTargets } from '../integration/warehouse/targets.js';
import { runCli } from '../support/cli.js';

const FIXTURES = 'test/fixtures/contract/e2e';

/** A files pipeline over one CSV: the data-contract fixture spec. */
function filesPipeline(name: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-backfill-'));
  mkdirSync(join(dir, 'data'));
  const text = readFileSync(join(FIXTURES, 'sales.yaml'), 'utf8')
    .replace('name: NAME', `name: ${name}`)
    .replace('table: TABLE', `table: ${name.replaceAll('-', '_')}`)
    .replace('schemaEvolution: POLICY', 'schemaEvolution: discard');
  const specFile = join(dir, `${name}.yaml`);
  writeFileSync(specFile, text);
  copyFileSync(join(FIXTURES, 'sales-2026-01.csv'), join(dir, 'data', 'sales-2026-01.csv'));
  return { specFile, home: join(dir, '.sluice') };
}

const REFUSAL =
  '--backfill 2026-01-01..2026-02-01: the files source of pipeline "sales-backfill" cannot backfill: files are loaded once each by bookmark';

describe('--backfill on a files source', () => {
  it('fails `sluice run` with a usage/spec error (exit 2) naming the flag and the source; nothing starts', async () => {
    const p = filesPipeline('sales-backfill');

    const run = await runCli(['run', p.specFile, '--home', p.home, '--backfill', '2026-01-01..2026-02-01']);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(REFUSAL);
    expect(run.stderr).toContain('use --full-refresh to reload every file');
    expect(existsSync(join(p.home, 'pglite'))).toBe(false);
  });

  it('fails `sluice plan` the same way', async () => {
    const p = filesPipeline('sales-backfill');

    const plan = await runCli(['plan', p.specFile, '--home', p.home, '--backfill', '2026-01-01..2026-02-01']);

    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain(REFUSAL);
  });
});

describe.each(warehouseTargets)(
  '--backfill on a files source, through the state machine on $name',
  (target) => {
    let db: TestWarehouse;
    beforeAll(async () => {
      db = await target.open();
    });
    afterAll(() => db.dispose());

    it('fails in Prepare before a run is recorded: no run, no table, no bookmark', async () => {
      const p = filesPipeline('sales-backfill');

      const result = await runPipelineLocally({
        specFile: p.specFile,
        home: p.home,
        warehouse: db.wh,
        backfill: { from: '2026-01-01', to: '2026-02-01' },
      });

      expect(result.status).toBe('failed');
      expect(result.runId).toBeUndefined();
      expect(result.error).toContain(REFUSAL);
      const found = await db.wh.query<{ runs: string | null; table: string | null }>(
        "SELECT to_regclass('sluice.runs')::text AS runs, to_regclass('shop.sales_backfill')::text AS table",
      );
      if (found.rows[0]!.runs) {
        const runs = await db.wh.query('SELECT 1 FROM sluice.runs WHERE pipeline = $1', ['sales-backfill']);
        expect(runs.rowCount).toBe(0);
      }
      expect(found.rows[0]!.table).toBeNull();
    });
  },
);
