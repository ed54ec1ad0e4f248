import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipelineLocally } from '../../functions/local/runner.js';
import { type TestWarehouse, warehouseTargets } from '../integration/warehouse/targets.js';

const FIXTURE = resolve('test/fixtures/exact-values/early-years');

interface Reject {
  location: string;
  column?: string;
  reason: string;
}

function readRejects(home: string, runId: string): Reject[] {
  const dir = join(home, 'staging', 'runs', runId, 'rejects');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as Reject);
}

/**
 * Issue 14, finding 2: a valid date in years 0001-0099 failed the whole run at commit (`not a calendar
 * date: 0099-12-01`, a date library mapping year 99 to 1999). Now such dates load into their own
 * partitions, and what Sluice does not store (BC, infinity, year 10000) is quarantined with its line.
 */
describe.each(warehouseTargets)('dates of years 0001-0099 and 9999 end to end on $name', (target) => {
  let db: TestWarehouse;
  beforeAll(async () => {
    db = await target.open();
  });
  afterAll(() => db.dispose());

  it('loads them into their own partitions and quarantines the rest with file:line and reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-early-years-'));
    cpSync(FIXTURE, dir, { recursive: true });
    const home = join(dir, '.sluice');

    const result = await runPipelineLocally({ specFile: join(dir, 'spec.yaml'), home, warehouse: db.wh });

    expect(result.error).toBeUndefined();
    expect(result.status).toBe('succeeded');
    const s = result.summary!;
    expect({ read: s.read, loaded: s.loaded, rejected: s.rejected }).toEqual({
      read: 10,
      loaded: 6,
      rejected: 4,
    });
    const { rows } = await db.wh.query<{ id: number; day: string; at: string | null }>(
      `SELECT id, day::text AS day, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at
         FROM exact.early_years ORDER BY id`,
    );
    expect(rows).toEqual([
      { id: 1, day: '0001-01-01', at: '0001-01-01 00:00:00.000000' },
      { id: 2, day: '0099-12-01', at: '0099-12-01 12:34:56.123456' },
      { id: 3, day: '0099-12-31', at: '0100-01-01 00:00:00.000000' },
      { id: 4, day: '1999-12-01', at: '1999-11-30 18:30:00.000000' },
      { id: 5, day: '0004-02-29', at: '0004-02-29 14:00:00.000000' },
      { id: 6, day: '9999-12-31', at: '9999-12-31 23:59:59.999999' },
    ]);
    const partitions = await db.wh.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'exact.early_years'::regclass ORDER BY 1`,
    );
    expect(partitions.rows.map((p) => p.name)).toEqual([
      'early_years_default',
      'early_years_p000101',
      'early_years_p000402',
      'early_years_p009912',
      'early_years_p199912',
      'early_years_p999912',
    ]);
    const rejects = readRejects(home, s.runId)
      .map(({ location, column, reason }) => ({ location, column, reason }))
      .sort((a, b) => a.location.localeCompare(b.location));
    expect(rejects).toEqual(
      [
        {
          location: 'dates.csv:11',
          column: 'at',
          reason: 'value "9999-12-31 23:59:59.9999995" is out of range for timestamptz: year 10000 in UTC',
        },
        {
          location: 'dates.csv:8',
          column: 'day',
          reason: expect.stringContaining('"0099-12-01 BC" is a BC date: Sluice stores years 1-9999'),
        },
        {
          location: 'dates.csv:9',
          column: 'day',
          reason: expect.stringContaining('"infinity" is not a date: Sluice stores years 1-9999'),
        },
        {
          location: 'dates.csv:10',
          column: 'day',
          reason: expect.stringContaining('"10000-01-01" has a five-digit year: Sluice stores years 1-9999'),
        },
      ].sort((a, b) => a.location.localeCompare(b.location)),
    );
  });
});
