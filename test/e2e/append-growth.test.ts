// Issue 12.7, end to end: in append mode a file that grew loads only its new records; any other change is refused by default.
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipelineLocally } from '../../functions/local/runner.js';
import { type TestWarehouse, warehouseTargets } from '../integration/warehouse/targets.js';

/** A pipeline folder with the fixture spec; `file` is the one data file the test grows or rewrites. */
function growingPipeline(name: string, format: 'csv' | 'jsonl', file: string, extra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-growth-'));
  mkdirSync(join(dir, 'data'));
  const text = readFileSync('test/fixtures/append-growth/events.yaml', 'utf8')
    .replace('name: NAME', `name: ${name}`)
    .replace('table: NAME_TABLE', `table: ${name.replaceAll('-', '_')}`)
    .replace('pattern: "PATTERN", format: FORMAT', `pattern: "${file}", format: ${format}${extra}`);
  const specFile = join(dir, `${name}.yaml`);
  writeFileSync(specFile, text);
  const path = join(dir, 'data', file);
  return { specFile, home: join(dir, '.sluice'), path, table: `growth.${name.replaceAll('-', '_')}` };
}

const csvRows = (rows: [number, string, string][]) => rows.map((r) => `${r.join(',')}\n`).join('');
const jsonRows = (rows: [number, string, string][]) =>
  rows.map(([id, day, amount]) => JSON.stringify({ id, day, amount: Number(amount) })).join('\n');

describe.each(warehouseTargets)('append mode and files that change, on $name', (target) => {
  let db: TestWarehouse;
  const run = (p: { specFile: string; home: string }) =>
    runPipelineLocally({ specFile: p.specFile, home: p.home, warehouse: db.wh });
  /** count, sum of ids and of amounts, and how many ids repeat: what a duplicate or a loss would change. */
  const checksum = async (table: string) =>
    (
      await db.wh.query(
        `SELECT count(*)::int AS n, sum(id)::int AS ids, sum(amount)::text AS amount,
                count(*)::int - count(DISTINCT id)::int AS repeats FROM ${table}`,
      )
    ).rows[0];

  beforeAll(async () => {
    db = await target.open();
  });
  afterAll(() => db.dispose());

  it('a growing CSV log: each run loads only the records it gained, with their line numbers', async () => {
    const p = growingPipeline('grow-csv', 'csv', 'log.csv');
    writeFileSync(
      p.path,
      `id,day,amount\n${csvRows([
        [1, '2026-01-01', '1.10'],
        [2, '2026-01-01', '2.20'],
        [3, '2026-01-02', '3.30'],
      ])}`,
    );
    const first = await run(p);
    expect(first.summary).toMatchObject({ read: 3, loaded: 3 });

    appendFileSync(
      p.path,
      csvRows([
        [4, '2026-01-02', '4.40'],
        [5, 'not a date', '5.50'],
      ]),
    );
    const second = await run(p);
    expect(second.error).toBeUndefined();
    expect(second.summary).toMatchObject({ read: 2, loaded: 1, rejected: 1 });
    const rejects = readFileSync(
      join(p.home, 'staging', 'runs', second.summary!.runId, 'rejects', 'chunk-00000.jsonl'),
      'utf8',
    );
    expect(rejects).toContain('log.csv:6');

    expect((await run(p)).summary).toMatchObject({ read: 0, loaded: 0 });
    appendFileSync(p.path, csvRows([[6, '2026-01-03', '6.60']]));
    expect((await run(p)).summary).toMatchObject({ read: 1, loaded: 1 });
    expect(await checksum(p.table)).toEqual({ n: 5, ids: 1 + 2 + 3 + 4 + 6, amount: '17.60', repeats: 0 });
  });

  it('a growing JSON Lines file whose last line had no line break yet: the line break and new records load once', async () => {
    const p = growingPipeline('grow-jsonl', 'jsonl', 'log.jsonl');
    writeFileSync(
      p.path,
      jsonRows([
        [1, '2026-01-01', '1.10'],
        [2, '2026-01-01', '2.20'],
      ]),
    );
    expect((await run(p)).summary).toMatchObject({ read: 2, loaded: 2 });

    appendFileSync(
      p.path,
      `\n${jsonRows([
        [3, '2026-01-02', '3.30'],
        [4, '2026-01-02', '4.40'],
      ])}\n`,
    );
    const second = await run(p);
    expect(second.error).toBeUndefined();
    expect(second.summary).toMatchObject({ read: 2, loaded: 2 });
    expect(await checksum(p.table)).toEqual({ n: 4, ids: 10, amount: '11.00', repeats: 0 });
  });

  it('fails when a loaded record was rewritten, naming the file and the option; table and bookmark untouched', async () => {
    const p = growingPipeline('rewritten', 'csv', 'log.csv');
    writeFileSync(
      p.path,
      `id,day,amount\n${csvRows([
        [1, '2026-01-01', '1.10'],
        [2, '2026-01-01', '2.20'],
      ])}`,
    );
    await run(p);
    writeFileSync(
      p.path,
      `id,day,amount\n${csvRows([
        [1, '2026-01-01', '9.90'],
        [2, '2026-01-01', '2.20'],
        [3, '2026-01-02', '3.30'],
      ])}`,
    );

    const result = await run(p);

    expect(result.status).toBe('failed');
    expect(result.error).toContain(
      `${p.path} changed since an earlier run loaded it, and not only by growing: its first`,
    );
    expect(result.error).toContain('source.config.changedFiles: reload');
    expect(await checksum(p.table)).toEqual({ n: 2, ids: 3, amount: '3.30', repeats: 0 });
    const marks = await db.wh.query(
      "SELECT count(*)::int AS n FROM sluice.file_bookmarks WHERE pipeline = 'rewritten'",
    );
    expect(marks.rows).toEqual([{ n: 1 }]);
  });

  it('changedFiles: reload loads a rewritten file whole again, as asked', async () => {
    const p = growingPipeline('reloaded', 'csv', 'log.csv', ', changedFiles: reload');
    writeFileSync(p.path, `id,day,amount\n${csvRows([[1, '2026-01-01', '1.10']])}`);
    await run(p);
    writeFileSync(
      p.path,
      `id,day,amount\n${csvRows([
        [1, '2026-01-01', '9.90'],
        [2, '2026-01-01', '2.20'],
      ])}`,
    );

    expect((await run(p)).summary).toMatchObject({ read: 2, loaded: 2 });
    expect(await checksum(p.table)).toEqual({ n: 3, ids: 4, amount: '13.20', repeats: 1 });
  });

  it('fails when the last line, loaded without a line break, was extended', async () => {
    const p = growingPipeline('extended', 'csv', 'log.csv');
    writeFileSync(p.path, `id,day,amount\n1,2026-01-01,1.10\n2,2026-01-01,2.2`);
    await run(p);
    appendFileSync(p.path, '0\n3,2026-01-02,3.30\n');

    const result = await run(p);

    expect(result.error).toContain('its last line, loaded before without a line break, was extended');
    expect(await checksum(p.table)).toEqual({ n: 2, ids: 3, amount: '3.30', repeats: 0 });
  });

  it('fails when a gzipped file grew: a grown .gz is not a byte prefix', async () => {
    const p = growingPipeline('grown-gzip', 'csv', 'log.csv.gz');
    const head = `id,day,amount\n${csvRows([[1, '2026-01-01', '1.10']])}`;
    writeFileSync(p.path, gzipSync(head));
    await run(p);
    writeFileSync(p.path, gzipSync(`${head}${csvRows([[2, '2026-01-01', '2.20']])}`));

    const result = await run(p);

    expect(result.error).toContain('it is gzip-compressed');
    expect(await checksum(p.table)).toEqual({ n: 1, ids: 1, amount: '1.10', repeats: 0 });
  });
});
