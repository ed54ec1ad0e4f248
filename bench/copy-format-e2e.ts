/**
 * Sluice end to end with its staged rows COPYed as CSV against binary (issue 15, lever 4): wall time,
 * the Sluice process's CPU (GNU time) and the PostgreSQL server's CPU. The server's CPU is read from
 * /proc: the postmaster's reaped children (cutime + cstime) plus its live children, before and after
 * each run, so the server must be on this host and serve nothing else meanwhile (start a private one,
 * e.g. `pg_ctl -D /tmp/pg -o '-p 5439' start`, and pass its URL). Formats alternate; medians.
 *
 *   npx tsx bench/copy-format-e2e.ts --rows 1e6 --repeats 3 --database-url postgres://postgres@127.0.0.1:5439/postgres \
 *     --postmaster-pid-file /tmp/pg/postmaster.pid
 *   (the data comes from `npm run bench -- --rows 1e6 --only psql`)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { parseBenchArgs, writeSpec } from './run.js';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
};
const options = parseBenchArgs(['--rows', arg('rows', '1e6'), '--database-url', arg('database-url', '')]);
const rows = options.rows[0]!;
const repeats = Number(arg('repeats', '3'));
const pidFile = arg('postmaster-pid-file', '');
const mode = arg('mode', 'append');
const dir = join(options.dataDir, `rows-${rows}`);
const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
const data = {
  ...meta,
  rawFile: join(dir, 'raw', 'orders.csv'),
  cleanFile: join(dir, 'clean.csv'),
};
const postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);

function ticks(pid: number, fields: number[]): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields.reduce((sum, f) => sum + Number(after[f - 3]), 0);
  } catch {
    return 0; // exited between the listing and the read: its time is in cutime now
  }
}

/** Seconds of CPU the server has used: reaped children + live children + the postmaster itself. */
function serverCpu(): number {
  let total = ticks(postmaster, [14, 15, 16, 17]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(after[1]) === postmaster) total += Number(after[11]) + Number(after[12]);
    } catch {}
  }
  return total / 100;
}

const db = new pg.Client({ connectionString: options.databaseUrl });
await db.connect();
await db.query('CREATE SCHEMA IF NOT EXISTS bench');
const table = `orders_${mode}`;
const specFile = writeSpec(data as never, mode, table, options, 2);
const home = join(options.dataDir, '.sluice-copy-format');
const results: Record<string, Record<string, number>[]> = { csv: [], binary: [] };
for (let r = 0; r < repeats; r++) {
  for (const format of r % 2 === 0 ? ['csv', 'binary'] : ['binary', 'csv']) {
    await db.query(`DROP TABLE IF EXISTS bench.${table} CASCADE`);
    rmSync(join(home, 'staging', 'runs'), { recursive: true, force: true });
    await db.query('CHECKPOINT');
    const before = serverCpu();
    const child = JSON.stringify({ specFile, home, databaseUrl: options.databaseUrl, concurrency: 2 });
    const timeFile = join(dir, '.time');
    const out = execFileSync(
      '/usr/bin/time',
      [
        '-f',
        '%e %U %S %M',
        '-o',
        timeFile,
        process.execPath,
        '--import',
        'tsx',
        'bench/sluice-child.ts',
        child,
      ],
      { env: { ...process.env, SLUICE_COPY_FORMAT: format }, encoding: 'utf8', maxBuffer: 1 << 26 },
    );
    const server = serverCpu() - before;
    const [wall, user, sys, rss] = readFileSync(timeFile, 'utf8')
      .trim()
      .split('\n')
      .at(-1)!
      .split(' ')
      .map(Number);
    const report = JSON.parse(out.trim().split('\n').at(-1)!);
    if (report.status !== 'succeeded' || report.summary.loaded !== meta.goodRows)
      throw new Error(`${format}: ${JSON.stringify(report)}`);
    const m = {
      wall: wall!,
      machine: user! + sys!,
      server,
      rss: rss! / 1024,
      prepare: report.phases.prepare,
      chunks: report.phases.chunks,
      commit: report.phases.commit,
    };
    results[format]!.push(m);
    process.stderr.write(`${format} ${r + 1}: ${JSON.stringify(m)}\n`);
  }
}
await db.end();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
process.stdout.write(
  '| Staged rows as | Wall s | Sluice process CPU s | Server CPU s | Chunks s | Commit s | Peak RSS MB |\n|---|---:|---:|---:|---:|---:|---:|\n',
);
for (const [format, runs] of Object.entries(results)) {
  const m = (k: string) => median(runs.map((x) => x[k]!)).toFixed(2);
  process.stdout.write(
    `| ${format} | ${m('wall')} | ${m('machine')} | ${m('server')} | ${m('chunks')} | ${m('commit')} | ${m('rss')} |\n`,
  );
}
if (!existsSync(pidFile)) throw new Error('the server stopped');
