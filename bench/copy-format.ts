/**
 * PostgreSQL server CPU of `COPY … FROM STDIN` in CSV against binary, psql-level (no Sluice), on the
 * bench's rows (issue 15, lever 4). Both files are written by the server itself (`COPY … TO STDOUT`) from
 * one loaded copy of `bench/data/rows-N/clean.csv`, so they hold the same rows. Each load goes into a
 * fresh table, in two shapes: Sluice's UNLOGGED staging table (the destination columns plus
 * `_sluice_seq`, `_sluice_ord`, no index) and the bench's partitioned target (24 monthly partitions, a
 * primary key). Server CPU is the backend's own utime + stime from `/proc/<pg_backend_pid()>/stat`
 * before and after the COPY (the server must run on this host). Formats are interleaved; medians.
 *
 *   npx tsx bench/copy-format.ts --rows 1e6 --repeats 3 [--database-url postgres://…]
 *   (run `npm run bench -- --rows 1e6 --repeats 1 --only psql` first: it generates the data)
 */
import { createReadStream, createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { BENCH_COLUMNS, BENCH_KEY, BENCH_REQUIRED } from './generate.js';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
};
const rows = Number(arg('rows', '1e6'));
const repeats = Number(arg('repeats', '3'));
const databaseUrl = arg(
  'database-url',
  process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
);
const dir = join(import.meta.dirname, 'data', `rows-${rows}`);
const clean = join(dir, 'clean.csv');
if (!existsSync(clean))
  throw new Error(`${clean} is missing: run npm run bench -- --rows ${rows} --only psql first`);

const names = Object.keys(BENCH_COLUMNS);
const columnDdl = (required: boolean) =>
  Object.entries(BENCH_COLUMNS).map(
    ([n, t]) => `${n} ${t}${required && BENCH_REQUIRED.includes(n) ? ' NOT NULL' : ''}`,
  );

const shapes: Record<string, (t: string) => string> = {
  staging: (t) =>
    `CREATE UNLOGGED TABLE ${t} (${[...columnDdl(false), '_sluice_seq integer NOT NULL', '_sluice_ord bigint NOT NULL'].join(', ')})`,
  partitioned: (t) => {
    const parts = [
      `CREATE TABLE ${t} (${columnDdl(true).join(', ')}, PRIMARY KEY (${BENCH_KEY.join(', ')})) PARTITION BY RANGE (order_date)`,
    ];
    for (let m = 0; m < 24; m++) {
      const from = new Date(Date.UTC(2023, m, 1)).toISOString().slice(0, 10);
      const to = new Date(Date.UTC(2023, m + 1, 1)).toISOString().slice(0, 10);
      parts.push(`CREATE TABLE ${t}_p${m} PARTITION OF ${t} FOR VALUES FROM ('${from}') TO ('${to}')`);
    }
    parts.push(`CREATE TABLE ${t}_default PARTITION OF ${t} DEFAULT`);
    return parts.join('; ');
  },
};
const shapeColumns: Record<string, string[]> = {
  staging: [...names, '_sluice_seq', '_sluice_ord'],
  partitioned: names,
};

async function connect(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  return c;
}

function backendCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the command name.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function copyOut(db: pg.Client, sql: string, file: string): Promise<void> {
  await pipeline(db.query(copyTo(sql)), createWriteStream(file));
}

async function prepareFiles(): Promise<Record<string, Record<string, string>>> {
  const db = await connect();
  try {
    await db.query('CREATE SCHEMA IF NOT EXISTS bench; DROP TABLE IF EXISTS bench.copyfmt_src');
    await db.query(`CREATE TABLE bench.copyfmt_src (${columnDdl(false).join(', ')})`);
    await pipeline(
      createReadStream(clean),
      db.query(copyFrom(`COPY bench.copyfmt_src (${names.join(', ')}) FROM STDIN (FORMAT csv, HEADER true)`)),
    );
    const files: Record<string, Record<string, string>> = {};
    for (const shape of Object.keys(shapes)) {
      const select =
        shape === 'staging'
          ? `SELECT ${names.join(', ')}, 1 AS _sluice_seq, row_number() OVER () AS _sluice_ord FROM bench.copyfmt_src`
          : `SELECT ${names.join(', ')} FROM bench.copyfmt_src`;
      files[shape] = {};
      for (const format of ['csv', 'binary']) {
        const file = join(dir, `copyfmt-${shape}.${format === 'csv' ? 'csv' : 'bin'}`);
        await copyOut(db, `COPY (${select}) TO STDOUT (FORMAT ${format})`, file);
        files[shape]![format] = file;
      }
    }
    await db.query('DROP TABLE bench.copyfmt_src');
    return files;
  } finally {
    await db.end();
  }
}

async function loadOnce(shape: string, format: string, file: string): Promise<{ cpu: number; wall: number }> {
  const db = await connect();
  try {
    const table = `bench.copyfmt_${shape}`;
    await db.query(`DROP TABLE IF EXISTS ${table} CASCADE; ${shapes[shape]!(table)}`);
    await db.query('CHECKPOINT');
    const pid = (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const before = backendCpuSeconds(pid);
    const start = performance.now();
    const sink = db.query(
      copyFrom(`COPY ${table} (${shapeColumns[shape]!.join(', ')}) FROM STDIN (FORMAT ${format})`),
    );
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), sink);
    const wall = (performance.now() - start) / 1000;
    const cpu = backendCpuSeconds(pid) - before;
    const n = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
    if (n !== Number(sink.rowCount))
      throw new Error(`${shape}/${format}: ${n} rows in the table, COPY said ${sink.rowCount}`);
    await db.query(`DROP TABLE ${table} CASCADE`);
    return { cpu, wall };
  } finally {
    await db.end();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const files = await prepareFiles();
const results: Record<string, { cpu: number[]; wall: number[] }> = {};
for (let r = 0; r < repeats; r++) {
  for (const shape of Object.keys(shapes)) {
    for (const format of r % 2 === 0 ? ['csv', 'binary'] : ['binary', 'csv']) {
      const key = `${shape}/${format}`;
      const m = await loadOnce(shape, format, files[shape]![format]!);
      results[key] ??= { cpu: [], wall: [] };
      results[key].cpu.push(m.cpu);
      results[key].wall.push(m.wall);
      process.stderr.write(
        `${key} repeat ${r + 1}: server CPU ${m.cpu.toFixed(2)} s, wall ${m.wall.toFixed(2)} s\n`,
      );
    }
  }
}
process.stdout.write(
  '| Target | Format | File (MB) | Server CPU s (median) | Wall s (median) | CPU runs |\n|---|---|---:|---:|---:|---|\n',
);
for (const [key, r] of Object.entries(results)) {
  const [shape, format] = key.split('/') as [string, string];
  const mb = (statSync(files[shape]![format]!).size / 1e6).toFixed(1);
  process.stdout.write(
    `| ${shape} | ${format} | ${mb} | ${median(r.cpu).toFixed(2)} | ${median(r.wall).toFixed(2)} | ${r.cpu.map((c) => c.toFixed(2)).join(', ')} |\n`,
  );
}
