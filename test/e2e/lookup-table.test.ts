// Issue 12.6 end to end: a lookup-table spec without partitioning runs through the state machine.
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipelineLocally } from '../../functions/local/runner.js';
import { type TestWarehouse, warehouseTargets } from '../integration/warehouse/targets.js';

const FIXTURES = 'test/fixtures/lookup';

describe.each(warehouseTargets)('a lookup table (no partitioning) end to end on $name', (target) => {
  let db: TestWarehouse;

  beforeAll(async () => {
    db = await target.open();
  });
  afterAll(() => db.dispose());

  it('loads a snapshot once, reruns load nothing, the next snapshot replaces the table whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-lookup-'));
    mkdirSync(join(dir, 'data'));
    const specFile = join(dir, 'zip-codes.yaml');
    copyFileSync(join(FIXTURES, 'zip-codes.yaml'), specFile);
    const add = (file: string) => copyFileSync(join(FIXTURES, file), join(dir, 'data', file));
    const runOnce = () => runPipelineLocally({ specFile, home: join(dir, '.sluice'), warehouse: db.wh });
    const table = async () =>
      (await db.wh.query('SELECT zip, city, population FROM geo.zip_codes ORDER BY zip')).rows;

    add('zips-2026-01.csv');
    const first = await runOnce();
    expect(first.error).toBeUndefined();
    expect(first.summary).toMatchObject({ read: 4, loaded: 4, rejected: 0, partitions: [] });
    const kind = await db.wh.query<{ kind: string }>(
      "SELECT relkind AS kind FROM pg_class WHERE oid = 'geo.zip_codes'::regclass",
    );
    expect(kind.rows).toEqual([{ kind: 'r' }]);

    const rerun = await runOnce();
    expect(rerun.error).toBeUndefined();
    expect(rerun.summary).toMatchObject({ read: 0, loaded: 0 });
    expect(await table()).toHaveLength(4);

    add('zips-2026-02.csv');
    const next = await runOnce();
    expect(next.error).toBeUndefined();
    expect(next.summary).toMatchObject({ read: 3, loaded: 3 });
    expect(await table()).toEqual([
      { zip: '01001', city: 'Agawam', population: 16801 },
      { zip: '02108', city: 'Boston', population: 4201 },
      { zip: '02109', city: 'Boston', population: 4000 },
    ]);
  });
});
