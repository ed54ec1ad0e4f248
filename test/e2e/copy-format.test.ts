// Binary COPY end to end (functions/engine/validate/copy-binary.ts): deduped rows of every kind the
// encoder writes load the same as through CSV, and a table with a `real` column goes as CSV.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runPipelineLocally } from '../../functions/local/runner.js';
import { type TestWarehouse, warehouseTargets } from '../integration/warehouse/targets.js';

function pipeline(name: string, extra: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-copy-format-'));
  mkdirSync(join(dir, 'data'));
  copyFileSync('test/fixtures/copy-format/readings.csv', join(dir, 'data', 'readings.csv'));
  const text = readFileSync('test/fixtures/copy-format/readings.yaml', 'utf8')
    .replace('name: NAME', `name: ${name}`)
    .replace('table: NAME_TABLE', `table: ${name.replaceAll('-', '_')}`)
    .replace('    EXTRA', extra);
  const specFile = join(dir, `${name}.yaml`);
  writeFileSync(specFile, text);
  return { specFile, home: join(dir, '.sluice'), table: `copyfmt.${name.replaceAll('-', '_')}` };
}

describe.each(warehouseTargets)('staging COPY formats end to end on $name', (target) => {
  let db: TestWarehouse;
  const saved = process.env.SLUICE_COPY_FORMAT;
  beforeAll(async () => {
    db = await target.open();
  });
  afterAll(() => db.dispose());
  afterEach(() => {
    if (saved === undefined) delete process.env.SLUICE_COPY_FORMAT;
    else process.env.SLUICE_COPY_FORMAT = saved;
  });

  const load = async (p: ReturnType<typeof pipeline>) => {
    const result = await runPipelineLocally({ specFile: p.specFile, home: p.home, warehouse: db.wh });
    expect(result.status, result.error).toBe('succeeded');
    expect(result.summary).toMatchObject({ read: 4, loaded: 3, rejected: 0, filtered: 1 });
    const rows = await db.wh.query<{ r: string }>(
      `SET TimeZone = 'UTC'; SELECT row_text::text AS r FROM ${p.table} row_text ORDER BY sensor, taken_at`,
    );
    return rows.rows.map((row) => row.r);
  };

  it('loads deduped rows as binary exactly as CSV does', async () => {
    process.env.SLUICE_COPY_FORMAT = 'csv';
    const viaCsv = await load(pipeline('via-csv', ''));
    delete process.env.SLUICE_COPY_FORMAT;
    const viaBinary = await load(pipeline('via-binary', ''));
    expect(viaBinary).toEqual(viaCsv);
    expect(viaBinary).toEqual([
      '(0f8fad5b-d9cb-469f-a165-70867728950e,"2026-01-01 10:00:00+00",2026-01-01,2.250,t,"last ""wins""","{""a"": [1]}")',
      '(7c9e6679-7425-40de-944b-e07fc1f90ae7,"0099-06-01 00:00:00+00",0099-06-01,12345.679,f,"line\nbreak",[])',
      '(7c9e6679-7425-40de-944b-e07fc1f90ae7,"1999-12-31 22:59:59.999999+00",1999-12-31,0.000,f,"",null)',
    ]);
  });

  it('loads a table with a real column through CSV', async () => {
    const rows = await load(pipeline('with-real', '    reading: real'));
    expect(rows.map((r) => r.slice(r.lastIndexOf(',') + 1))).toEqual(['2.5)', '-0.5)', ')']);
  });
});
