import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipelineLocally } from '../../functions/local/runner.js';
import { type TestWarehouse, warehouseTargets } from '../integration/warehouse/targets.js';
import { runCli } from '../support/cli.js';

/**
 * Issue 12, end to end through the state machine: a CSV source's columns are resolved before anything
 * loads. A misspelt column is refused by `sluice validate --source` and by a run (file:line:col and a
 * suggestion, the table and the bookmarks untouched); a file that gained a column is governed by
 * `schemaEvolution` (freeze fails naming it, discard counts it, evolve adds it).
 */
const FIXTURES = 'test/fixtures/contract/e2e';

/** A pipeline folder: the fixture spec (NAME, TABLE and POLICY replaced) and a data folder. */
function pipeline(name: string, policy: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-contract-'));
  mkdirSync(join(dir, 'data'));
  const text = readFileSync(join(FIXTURES, 'sales.yaml'), 'utf8')
    .replace('name: NAME', `name: ${name}`)
    .replace('table: TABLE', `table: ${name.replaceAll('-', '_')}`)
    .replace('schemaEvolution: POLICY', `schemaEvolution: ${policy}`);
  const specFile = join(dir, `${name}.yaml`);
  writeFileSync(specFile, text);
  return {
    specFile,
    home: join(dir, '.sluice'),
    add: (file: string) => copyFileSync(join(FIXTURES, file), join(dir, 'data', file)),
    /** Replaces text in the spec file, in place. */
    edit: ([from, to]: readonly [string, string]) => {
      const current = readFileSync(specFile, 'utf8');
      if (!current.includes(from)) throw new Error(`"${from}" is not in ${specFile}`);
      writeFileSync(specFile, current.replace(from, to));
    },
  };
}

describe.each(warehouseTargets)('data contract end to end on $name', (target) => {
  let db: TestWarehouse;
  const rows = async (sql: string, params: unknown[] = []) => (await db.wh.query(sql, params)).rows;
  const bookmarks = (name: string) =>
    rows('SELECT object_key FROM sluice.file_bookmarks WHERE pipeline = $1 ORDER BY 1', [name]);

  beforeAll(async () => {
    db = await target.open();
  });
  afterAll(() => db.dispose());

  /** Loads January, then adds March, whose CSV gained a `coupon` column, and runs again. */
  async function gainAColumn(policy: string) {
    const p = pipeline(`sales-${policy}`, policy);
    p.add('sales-2026-01.csv');
    const first = await runPipelineLocally({ specFile: p.specFile, home: p.home, warehouse: db.wh });
    expect(first.error).toBeUndefined();
    expect(first.summary?.loaded).toBe(2);
    p.add('sales-2026-03-coupon.csv');
    return { p, result: await runPipelineLocally({ specFile: p.specFile, home: p.home, warehouse: db.wh }) };
  }

  it('fails when schemaEvolution is freeze and a CSV file gained a column, naming it; nothing loads', async () => {
    const { p, result } = await gainAColumn('freeze');

    expect(result.status).toBe('failed');
    expect(result.error).toContain(
      `${p.specFile}:20:20 destination.schemaEvolution: schemaEvolution is freeze and source files has 1 column(s) that shop.sales_freeze does not: coupon (text)`,
    );
    expect(await rows('SELECT count(*)::int AS n FROM shop.sales_freeze')).toEqual([{ n: 2 }]);
    expect(await bookmarks('sales-freeze')).toEqual([{ object_key: 'sales-2026-01.csv' }]);
  });

  it('discard: loads the rows without the new column and counts it in the summary and the run record', async () => {
    const { result } = await gainAColumn('discard');

    expect(result.error).toBeUndefined();
    expect(result.summary?.loaded).toBe(2);
    expect(result.summary?.schemaEvolution).toEqual({ policy: 'discard', added: [], discarded: ['coupon'] });
    const [record] = await rows(
      `SELECT summary->'schemaEvolution' AS evolution, summary->'sourceColumns' AS columns
         FROM sluice.runs WHERE run_id = $1`,
      [result.summary?.runId],
    );
    expect(record).toEqual({
      evolution: { policy: 'discard', added: [], discarded: ['coupon'] },
      columns: ['id', 'day', 'price', 'qty', 'note', 'coupon'].map((name) => ({ name, type: 'text' })),
    });
    const columns = await rows(`SELECT column_name FROM information_schema.columns
      WHERE table_schema = 'shop' AND table_name = 'sales_discard' ORDER BY ordinal_position`);
    expect(columns.map((c) => c.column_name)).toEqual(['id', 'day', 'amount', 'note']);
  });

  it('evolve: adds the new column as nullable text through a recorded migration and loads it', async () => {
    const { result } = await gainAColumn('evolve');

    expect(result.error).toBeUndefined();
    expect(result.summary?.schemaEvolution).toEqual({ policy: 'evolve', added: ['coupon'], discarded: [] });
    expect(await rows('SELECT id::int, coupon FROM shop.sales_evolve ORDER BY id')).toEqual([
      { id: 1, coupon: null },
      { id: 2, coupon: null },
      { id: 4, coupon: 'SPRING' },
      { id: 5, coupon: '' },
    ]);
  });

  describe.each([
    {
      what: 'a derive expression',
      name: 'sales-typo-derive',
      edit: ['amount: "price * qty"', 'amount: "prcie * qty"'],
      problem:
        ':9:15 transforms.0.derive.amount: column "prcie" is not among the source columns; did you mean "price"?',
    },
    {
      what: 'a cast',
      name: 'sales-typo-cast',
      edit: ['cast: { column: day, to: date }', 'cast: { column: dya, to: date }'],
      problem:
        ':10:21 transforms.1.cast.column: column "dya" is not among the source columns; did you mean "day"?',
    },
    {
      what: 'destination.columns',
      name: 'sales-typo-destination',
      edit: ['    note: text', '    notes: text'],
      problem:
        ':18:12 destination.columns.notes: destination column "notes" is not among the source columns; did you mean "note"?',
    },
  ] as const)('a misspelt column in $what', ({ name, edit, problem }) => {
    it('fails validate --source and the run, with file:line:col and a suggestion; table and bookmarks untouched', async () => {
      const p = pipeline(name, 'discard');
      p.add('sales-2026-01.csv');
      const first = await runPipelineLocally({ specFile: p.specFile, home: p.home, warehouse: db.wh });
      expect(first.error).toBeUndefined();
      p.add('sales-2026-02.csv');
      p.edit(edit);

      const validated = await runCli(['validate', '--source', '--home', p.home, p.specFile]);
      const run = await runPipelineLocally({ specFile: p.specFile, home: p.home, warehouse: db.wh });

      expect(validated.stdout).toContain(`${p.specFile}${problem}`);
      expect(validated.code).toBe(2);
      expect(run.status).toBe('failed');
      expect(run.error).toContain(`${p.specFile}${problem}`);
      const table = name.replaceAll('-', '_');
      expect(await rows(`SELECT id::int, amount::text, note FROM shop.${table} ORDER BY id`)).toEqual([
        { id: 1, amount: '10.00', note: 'first' },
        { id: 2, amount: '10.00', note: '' },
      ]);
      expect(await bookmarks(name)).toEqual([{ object_key: 'sales-2026-01.csv' }]);
    });
  });
});
