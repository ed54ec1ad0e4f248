import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runPipelineLocally } from '../../functions/local/runner.js';
import {
  createScratchMysql,
  createScratchPg,
  mysqlAvailable,
  postgresAvailable,
} from '../integration/connectors/databases.js';
import { type TestWarehouse, warehouseTargets } from '../integration/warehouse/targets.js';

/**
 * Issue 12.4, end to end: `sluice init` on a folder of CSV files, a CSV file with hostile headers, a
 * Parquet file written by DuckDB (an independent writer, at test time), a PostgreSQL table and a
 * MySQL/MariaDB table. Each written spec passes `sluice validate --source` unchanged and a run loads
 * every source row (read = loaded), with the count and a checksum equal to the source's own.
 */
const SLUICE = resolve('bin/sluice.mjs');
const FIXTURES = resolve('test/fixtures/init');
const logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Runs the CLI in a project folder, as a user would. */
function sluice(
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [SLUICE, ...args], { cwd, env: { ...process.env, CI: 'true' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

/** A project folder with the given fixture folders copied under pipelines/data/. */
function project(...folders: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-init-'));
  mkdirSync(join(dir, 'pipelines', 'data'), { recursive: true });
  for (const folder of folders)
    cpSync(join(FIXTURES, folder), join(dir, 'pipelines', 'data', folder), { recursive: true });
  return dir;
}

/** init, then validate --source: both must succeed; returns the spec's path and text. */
async function initAndValidate(dir: string, name: string, from: string) {
  const init = await sluice(['init', name, '--from', from], dir);
  expect(init.code, init.stderr).toBe(0);
  expect(init.stdout).toContain(`wrote pipelines/${name}.yaml`);
  const specFile = join(dir, 'pipelines', `${name}.yaml`);
  const validate = await sluice(['validate', '--source', `pipelines/${name}.yaml`], dir);
  expect(validate.stdout).toBe(`ok  pipelines/${name}.yaml\n`);
  expect(validate.code, validate.stderr).toBe(0);
  return { specFile, text: readFileSync(specFile, 'utf8') };
}

describe.each(warehouseTargets)('sluice init end to end on $name', (target) => {
  let db: TestWarehouse;
  const rows = async (sql: string) => (await db.wh.query<Record<string, unknown>>(sql)).rows;
  const run = async (dir: string, specFile: string) => {
    const result = await runPipelineLocally({
      specFile,
      home: join(dir, '.sluice'),
      warehouse: db.wh,
      logger,
    });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('succeeded');
    return result.summary!;
  };

  beforeAll(async () => {
    db = await target.open();
  });
  afterAll(() => db?.dispose());

  it('writes a spec for a folder of CSV files that validates and loads every row exactly', async () => {
    const dir = project('sales');

    const { specFile, text } = await initAndValidate(dir, 'sales', 'pipelines/data/sales');
    const summary = await run(dir, specFile);

    expect(text).toContain('delimiter: ;');
    expect(text).toContain('"Cost Total $": cost_total');
    expect(text).toContain('- cast: { column: ordered_on, to: date, format: "dd/MM/yyyy" }');
    expect(text).toContain('zip: { type: text, nullable: false } # from "Zip"; leading zeros');
    expect(text).toContain('key: [order_id, ordered_on]');
    expect(summary).toMatchObject({ read: 5, loaded: 5, rejected: 0, filtered: 0 });
    expect(
      await rows(`SELECT order_id, ordered_on::text AS ordered_on, cost_total::text AS cost_total, zip, paid, note,
        shipped_at::text AS shipped_at, details::text AS details FROM public.sales ORDER BY order_id`),
    ).toEqual([
      {
        order_id: 1,
        ordered_on: '2026-01-31',
        cost_total: '12.500',
        zip: '01234',
        paid: true,
        note: 'first order',
        shipped_at: '2026-01-31 10:00:00',
        details: '{"items": 2}',
      },
      {
        order_id: 2,
        ordered_on: '2026-01-01',
        cost_total: '3.000',
        zip: '12345',
        paid: false,
        note: '',
        shipped_at: '2026-01-01 11:30:00.25',
        details: '{"items": 1}',
      },
      {
        order_id: 3,
        ordered_on: '2026-01-15',
        cost_total: '1234.125',
        zip: '00501',
        paid: true,
        note: 'semi;colon',
        shipped_at: '2026-01-15 09:00:00',
        details: '[]',
      },
      {
        order_id: 4,
        ordered_on: '2026-02-02',
        cost_total: '7.000',
        zip: '90210',
        paid: false,
        note: 'Ünïcödé ✓',
        shipped_at: '2026-02-02 08:00:00',
        details: '{"items": 3}',
      },
      {
        order_id: 5,
        ordered_on: '2026-02-28',
        cost_total: '-0.125',
        zip: '02134',
        paid: true,
        note: 'quoted "text"',
        shipped_at: '2026-02-28 23:59:59',
        details: '{}',
      },
    ]);
  });

  it('fails when the spec exists, unless --force', async () => {
    const dir = project('sales');
    await initAndValidate(dir, 'sales', 'pipelines/data/sales');

    const again = await sluice(['init', 'sales', '--from', 'pipelines/data/sales'], dir);
    const forced = await sluice(['init', 'sales', '--from', 'pipelines/data/sales', '--force'], dir);

    expect(again.code).toBe(1);
    expect(again.stderr).toContain(
      'pipelines/sales.yaml exists: pass --force to overwrite it, or --out to write elsewhere',
    );
    expect(forced.code).toBe(0);
  });

  it('fails when the data lies outside the spec folder, saying what to do', async () => {
    const dir = project();
    cpSync(join(FIXTURES, 'sales'), join(dir, 'data', 'sales'), { recursive: true });

    const result = await sluice(['init', 'sales', '--from', 'data/sales'], dir);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("outside the spec's folder");
    expect(result.stderr).toContain('SLUICE_ALLOWED_ROOTS');
  });

  it('names hostile CSV headers (empty, repeated, __proto__, SQL keywords, non-ASCII) and loads the file', async () => {
    const dir = project('hostile');

    const { specFile, text } = await initAndValidate(dir, 'people', 'pipelines/data/hostile/people.csv');
    const summary = await run(dir, specFile);

    expect((parse(text) as { source: { config: { csv: unknown } } }).source.config.csv).toEqual({
      columns: [
        'id',
        'column_2',
        'name',
        'name_2',
        'proto',
        'select',
        'stra_e_nr',
        'c_2024_total',
        'column_9',
      ],
    });
    expect(summary).toMatchObject({ read: 3, loaded: 3, rejected: 0 });
    expect(
      await rows(
        `SELECT id, column_2, name, name_2, proto, "select", stra_e_nr, c_2024_total, column_9::text AS column_9 FROM public.people ORDER BY id`,
      ),
    ).toEqual([
      {
        id: 1,
        column_2: 'a',
        name: 'Ann',
        name_2: 'ann',
        proto: 'p1',
        select: 's1',
        stra_e_nr: 'Main 1',
        c_2024_total: 10,
        column_9: '2026-03-01',
      },
      {
        id: 2,
        column_2: '',
        name: 'Bob',
        name_2: 'bob',
        proto: 'p2',
        select: 's2',
        stra_e_nr: 'Main 2',
        c_2024_total: 20,
        column_9: '2026-03-02',
      },
      {
        id: 3,
        column_2: 'c',
        name: 'Cyd',
        name_2: 'cyd',
        proto: '',
        select: 's3',
        stra_e_nr: '',
        c_2024_total: 30,
        column_9: '2026-03-03',
      },
    ]);
  });

  it('renames long, keyword, symbol and non-ASCII headers to valid names and loads the file', async () => {
    const dir = project('wide');

    const { specFile, text } = await initAndValidate(dir, 'wide', 'pipelines/data/wide/wide.csv');
    const summary = await run(dir, specFile);

    const spec = parse(text) as {
      transforms: [{ rename: Record<string, string> }];
      destination: { columns: object };
    };
    const names = Object.keys(spec.destination.columns);
    expect(names).toEqual([
      'id',
      'order',
      'from',
      'total_amount_including_all_taxes_shipping_handling_and_b8c18572',
      'total_amount_including_all_taxes_shipping_handling_and_9f564942',
      'prix_ttc',
      'column_7',
      'day',
    ]);
    expect(spec.transforms[0].rename['Prix TTC (€)']).toBe('prix_ttc');
    expect(summary).toMatchObject({ read: 2, loaded: 2, rejected: 0 });
    expect(
      await rows(`SELECT id, "order", "from", prix_ttc, column_7,
        total_amount_including_all_taxes_shipping_handling_and_b8c18572::text AS total FROM public.wide ORDER BY id`),
    ).toEqual([
      { id: 1, order: 'a', from: 'x', prix_ttc: '12,5', column_7: 3, total: '10.5' },
      { id: 2, order: 'b', from: 'y', prix_ttc: '13', column_7: 4, total: '11.0' },
    ]);
  });

  it.each([
    ['JSON Lines', 'events', 'events.jsonl'],
    ['a JSON array', 'events-array', 'events.json'],
  ])(
    'writes a spec for %s (keys of every sampled record, JSON types) that loads every record',
    async (_, folder, file) => {
      const dir = project(folder);
      const name = folder === 'events' ? 'events-lines' : 'events-array';

      const { specFile, text } = await initAndValidate(dir, name, `pipelines/data/${folder}/${file}`);
      const summary = await run(dir, specFile);

      expect(text).toContain('"Event ID": event_id');
      expect(text).toContain('happened_at: { type: timestamptz, nullable: false }');
      expect(text).toContain('payload: { type: jsonb, nullable: false }');
      expect(text).toContain('score: { type: "numeric(18,1)" }');
      expect(text).toContain('late: { type: text }');
      expect(summary).toMatchObject({ read: 3, loaded: 3, rejected: 0 });
      const table = name.replace('-', '_');
      expect(
        await rows(`SELECT event_id, happened_at::text AS happened_at, payload::text AS payload, ok, score::text AS score,
        tags::text AS tags, late FROM public.${table} ORDER BY event_id`),
      ).toEqual([
        {
          event_id: 1,
          happened_at: '2026-03-01 10:00:00+00',
          payload: '{"a": 1}',
          ok: true,
          score: '1.5',
          tags: '["x"]',
          late: null,
        },
        {
          event_id: 2,
          happened_at: '2026-03-02 09:30:00.5+00',
          payload: '{"b": [1, 2]}',
          ok: false,
          score: '2.0',
          tags: '[]',
          late: null,
        },
        {
          event_id: 3,
          happened_at: '2026-04-01 00:00:00+00',
          payload: '{}',
          ok: true,
          score: null,
          tags: '["y", "z"]',
          late: 'only here',
        },
      ]);
    },
  );

  it('writes a spec for a Parquet file written by DuckDB with the footer types, exact', async () => {
    const dir = project();
    mkdirSync(join(dir, 'pipelines', 'data', 'events'));
    const file = join(dir, 'pipelines', 'data', 'events', 'events.parquet');
    const duck = await (await DuckDBInstance.create(':memory:')).connect();
    const select = `SELECT i AS id, DATE '2026-01-01' + i::INTEGER AS event_day,
        TIMESTAMP '2026-01-01 00:00:00.123456' + i * INTERVAL 1 HOUR AS local_at,
        TIMESTAMPTZ '2026-01-01 00:00:00.654321+00' + i * INTERVAL 1 MINUTE AS utc_at,
        (i * 1234567890123456.78)::DECIMAL(38,2) AS amount, 'name ' || i AS "Customer Name",
        CASE WHEN i % 3 = 0 THEN NULL ELSE i END AS maybe FROM range(1, 301) t(i)`;
    await duck.run(`SET TimeZone = 'UTC'`);
    await duck.run(`COPY (${select}) TO '${file}' (FORMAT parquet, COMPRESSION zstd)`);
    const [source] = (
      await duck.runAndReadAll(`SELECT count(*)::INTEGER AS n, sum(amount)::VARCHAR AS amount,
        md5(string_agg("Customer Name" || '|' || coalesce(maybe::VARCHAR, '-'), ',' ORDER BY id)) AS digest,
        min(event_day)::VARCHAR AS first_day, max(local_at)::VARCHAR AS last_local, max(epoch_us(utc_at))::VARCHAR AS last_utc
        FROM read_parquet('${file}')`)
    ).getRowObjectsJson();
    duck.closeSync();

    const { specFile, text } = await initAndValidate(dir, 'events', 'pipelines/data/events/events.parquet');
    const summary = await run(dir, specFile);

    expect(text).toContain('amount: { type: "numeric(38,2)", nullable: false }');
    expect(text).toContain('local_at: { type: timestamp, nullable: false }');
    expect(text).toContain('utc_at: { type: timestamptz, nullable: false }');
    expect(text).toContain('maybe: { type: bigint }');
    expect(text).toContain('partitioning: { column: event_day, by: month }');
    expect(summary).toMatchObject({ read: 300, loaded: 300, rejected: 0 });
    expect(
      await rows(`SELECT count(*)::int AS n, sum(amount)::text AS amount,
        md5(string_agg(customer_name || '|' || coalesce(maybe::text, '-'), ',' ORDER BY id)) AS digest,
        min(event_day)::text AS first_day, to_char(max(local_at), 'YYYY-MM-DD HH24:MI:SS.US') AS last_local,
        (extract(epoch FROM max(utc_at)) * 1000000)::bigint::text AS last_utc FROM public.events`),
    ).toEqual([source]);
  });

  it.skipIf(!postgresAvailable)(
    'from a PostgreSQL table: writes a spec with the catalog types, the primary key and an incremental cursor, and loads the table',
    async () => {
      const source = await createScratchPg('sluice_init_src');
      await source.client.query(`CREATE TABLE orders (id bigint PRIMARY KEY, "Customer Name" text NOT NULL,
        zip text, amount numeric(12,2) NOT NULL, ordered_on date NOT NULL, updated_at timestamptz NOT NULL);
      INSERT INTO orders SELECT g, 'customer ' || g, lpad((g * 7)::text, 5, '0'), g * 1.25, date '2026-01-01' + g % 90,
        timestamptz '2026-01-01 00:00:00+00' + g * interval '1 second' FROM generate_series(1, 500) g`);
      try {
        const dir = project();
        const url = new URL(source.url);
        url.pathname = `/${source.database}/orders`;

        const { specFile, text } = await initAndValidate(dir, 'shop-orders', url.toString());
        const summary = await run(dir, specFile);

        expect(text).toContain('cursor:\n      column: updated_at');
        expect(text).toContain('amount: { type: "numeric(12,2)", nullable: false }');
        expect(text).toContain('key: [id, ordered_on] # the primary key of the source');
        expect(summary).toMatchObject({ read: 500, loaded: 500, rejected: 0 });
        const checksum = `count(*)::int AS n, sum(amount)::text AS amount,
        md5(string_agg(id || '|' || %NAME% || '|' || coalesce(zip, '-') || '|' || ordered_on || '|' || extract(epoch FROM updated_at), ',' ORDER BY id)) AS digest`;
        const expected = await source.client.query(
          `SELECT ${checksum.replace('%NAME%', '"Customer Name"')} FROM orders`,
        );
        expect(
          await rows(`SELECT ${checksum.replace('%NAME%', 'customer_name')} FROM public.shop_orders`),
        ).toEqual(expected.rows);
      } finally {
        await source.dispose();
      }
    },
  );

  it.skipIf(!mysqlAvailable)(
    'from a MySQL/MariaDB table: writes a spec with the catalog types and the primary key, and loads the table',
    async () => {
      const source = await createScratchMysql('sluice_init_src');
      await source.query(`CREATE TABLE visits (id INT PRIMARY KEY, page VARCHAR(200) NOT NULL,
        amount DECIMAL(10,2), visited_at DATETIME NOT NULL);
      INSERT INTO visits (id, page, amount, visited_at) VALUES ${Array.from(
        { length: 200 },
        (_, i) =>
          `(${i + 1}, '/page/${i + 1}', ${(i + 1) % 5 === 0 ? 'NULL' : (i + 1) * 0.5}, TIMESTAMP '2026-01-01 00:00:00' + INTERVAL ${i + 1} HOUR)`,
      ).join(', ')}`);
      try {
        const dir = project();
        const from = `mysql://${source.user}@${source.host}:${source.port}/${source.database}/visits`;

        const { specFile, text } = await initAndValidate(dir, 'visits', from);
        const summary = await run(dir, specFile);

        expect(text).toContain('amount: { type: "numeric(10,2)" }');
        expect(text).toContain('key: [id, visited_at] # the primary key of the source');
        expect(summary).toMatchObject({ read: 200, loaded: 200, rejected: 0 });
        const [[expected]] = (await source.query(`SELECT COUNT(*) AS n, CAST(SUM(amount) AS CHAR) AS amount,
        MD5(GROUP_CONCAT(CONCAT(id, '|', page, '|', DATE_FORMAT(visited_at, '%Y-%m-%d %H:%i:%s')) ORDER BY id SEPARATOR ',')) AS digest
        FROM visits`)) as [Record<string, unknown>[]];
        expect(
          await rows(`SELECT count(*)::int AS n, sum(amount)::text AS amount,
          md5(string_agg(id || '|' || page || '|' || to_char(visited_at, 'YYYY-MM-DD HH24:MI:SS'), ',' ORDER BY id)) AS digest
          FROM public.visits`),
        ).toEqual([{ ...expected, n: Number(expected!.n) }]);
      } finally {
        await source.dispose();
      }
    },
  );
});
