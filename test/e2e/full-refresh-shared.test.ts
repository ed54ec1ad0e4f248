// Issue 12.7 through the CLI: `sluice run --full-refresh` of one pipeline never deletes another's rows.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PgliteWarehouse } from '../../functions/adapters/warehouse/pglite.js';
import { runCli } from '../support/cli.js';

const FIXTURES = 'test/fixtures/contract/e2e';

/** Two pipelines, each with its own data folder, loading into the same table shop.sales_shared. */
function twoPipelinesOneTable() {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-shared-'));
  const specs = ['sales-east', 'sales-west'].map((name, i) => {
    const data = `data-${name}`;
    mkdirSync(join(dir, data));
    const file = i === 0 ? 'sales-2026-01.csv' : 'sales-2026-02.csv';
    copyFileSync(join(FIXTURES, file), join(dir, data, file));
    const text = readFileSync(join(FIXTURES, 'sales.yaml'), 'utf8')
      .replace('name: NAME', `name: ${name}`)
      .replace('table: TABLE', 'table: sales_shared')
      .replace('schemaEvolution: POLICY', 'schemaEvolution: discard')
      .replace('location: data,', `location: ${data},`);
    const specFile = join(dir, `${name}.yaml`);
    writeFileSync(specFile, text);
    return specFile;
  });
  return { east: specs[0]!, west: specs[1]!, home: join(dir, '.sluice') };
}

describe('sluice run --full-refresh on a table two pipelines write', () => {
  it('fails naming the other pipeline, and both pipelines keep their rows', async () => {
    const p = twoPipelinesOneTable();
    const east = await runCli(['run', p.east, '--home', p.home, '--json']);
    const west = await runCli(['run', p.west, '--home', p.home, '--json']);
    expect([east.code, west.code]).toEqual([0, 0]);
    const loaded = JSON.parse(east.stdout).loaded + JSON.parse(west.stdout).loaded;

    const refresh = await runCli(['run', p.east, '--home', p.home, '--full-refresh']);

    expect(refresh.code).toBe(1);
    expect(refresh.stderr).toContain(
      'run (not started) failed: --full-refresh of pipeline "sales-east" is refused: it replaces every row of shop.sales_shared, and the run ledger shows committed runs of other pipelines into that table ("sales-west")',
    );
    const wh = await PgliteWarehouse.open(join(p.home, 'pglite'));
    try {
      const { rows } = await wh.query<{ n: number }>('SELECT count(*)::int AS n FROM shop.sales_shared');
      expect(rows).toEqual([{ n: loaded }]);
      const runs = await wh.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM sluice.runs WHERE pipeline = 'sales-east' AND full_refresh",
      );
      expect(runs.rows).toEqual([{ n: 0 }]);
    } finally {
      await wh.close();
    }
  });
});
