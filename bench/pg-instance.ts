/**
 * A PostgreSQL of the bench's own (`--own-server`, and the saturation step's): a fresh instance on a free
 * port, for saturation its postmaster (and so every backend and background process it forks) pinned to
 * given CPUs with `taskset`, optionally held to a CPU
 * quota (cgroup v1 `cpu.cfs_quota_us`: 0.25 core ≈ one Aurora ACU in the scale model). It copies the
 * main server's durability and memory settings, so its server CPU per row compares with the main run's.
 *
 * PostgreSQL refuses to run as root: as root the folder belongs to `postgres` and the server's programs
 * run through `runuser -u postgres` (as test/support/logical-pg.ts does). `stop()` stops the server and
 * deletes the folder; it also runs on exit and on SIGINT/SIGTERM, so a failed or interrupted bench does
 * not leave a server behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { handToServerUser, initCluster, PG_BIN, pgCommand } from '../test/support/pg-cluster.js';

const CGROUP_CPU = '/sys/fs/cgroup/cpu';
/** Settings copied from the main server: what decides how much work a load makes the server do. */
const COPIED_SETTINGS = [
  'shared_buffers',
  'max_wal_size',
  'min_wal_size',
  'checkpoint_timeout',
  'fsync',
  'synchronous_commit',
  'full_page_writes',
  'wal_level',
  'wal_compression',
  'work_mem',
  'maintenance_work_mem',
  'max_parallel_maintenance_workers',
  'max_parallel_workers_per_gather',
];

export interface PrivatePostgres {
  url: string;
  port: number;
  postmasterPid: number;
  /** The CPUs the postmaster may run on, as the kernel reports them (Cpus_allowed_list). */
  cpusAllowed: string;
  /** The CPU quota in cores, when one was set. */
  quotaCores: number | undefined;
  stop(): void;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts the instance. `main` is a connection to the server whose settings it copies.
 * @throws when the server programs, taskset or (with a quota) the cgroup cpu controller are missing,
 * or when the postmaster does not end up pinned as asked.
 */
export async function startPrivatePostgres(
  main: pg.Client,
  options: { cpus?: string | undefined; quotaCores?: number | undefined },
): Promise<PrivatePostgres> {
  if (!existsSync(join(PG_BIN, 'initdb')))
    throw new Error(`the bench server: no PostgreSQL server programs in ${PG_BIN} (set SLUICE_PG_BIN)`);
  if (options.cpus !== undefined && spawnSync('taskset', ['-V']).status !== 0)
    throw new Error(
      'the bench server: taskset (util-linux) is missing: it pins the bench server to its CPUs',
    );
  // Values without a unit are read in the setting's own unit (8kB pages, MB, ms), as pg_settings gives them.
  const settings = await main.query<{ name: string; setting: string }>(
    'SELECT name, setting FROM pg_settings WHERE name = ANY($1)',
    [COPIED_SETTINGS],
  );
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-pg-'));
  const data = join(dir, 'data');
  const port = await freePort();
  let started = false;
  let cgroup: string | undefined;
  const stop = () => {
    if (started && existsSync(join(data, 'postmaster.pid'))) {
      try {
        pgCommand('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch (err) {
        process.stderr.write(`stopping the bench server in ${data}: ${String(err)}\n`);
      }
    }
    started = false;
    // A cgroup goes with rmdir once its processes are gone (the server was stopped above).
    if (cgroup && existsSync(cgroup)) spawnSync('rmdir', [cgroup]);
    rmSync(dir, { recursive: true, force: true });
    process.off('exit', stop);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    stop();
    process.kill(process.pid, signal);
  };
  process.on('exit', stop);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    handToServerUser(dir);
    initCluster(data, port, [
      // The bench vacuums each loaded table inside that load's CPU window; autovacuum would do it at some
      // later moment, inside another load's.
      'autovacuum = off',
      ...settings.rows.map((s) => `${s.name} = '${s.setting}'`),
    ]);
    pgCommand('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start'], {
      pinTo: options.cpus,
      timeoutMs: 120_000,
    });
    started = true;
    const postmasterPid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const cpusAllowed =
      /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${postmasterPid}/status`, 'utf8'))?.[1] ?? '?';
    if (options.cpus !== undefined && cpusAllowed !== options.cpus)
      throw new Error(
        `the bench server's postmaster runs on CPUs ${cpusAllowed}, not ${options.cpus} as asked (taskset)`,
      );
    if (options.quotaCores !== undefined) {
      if (!existsSync(join(CGROUP_CPU, 'cpu.cfs_quota_us')))
        throw new Error(`--saturation-quota needs the cgroup v1 cpu controller at ${CGROUP_CPU}`);
      cgroup = join(CGROUP_CPU, `sluice-bench-${process.pid}`);
      mkdirSync(cgroup);
      const period = Number(readFileSync(join(cgroup, 'cpu.cfs_period_us'), 'utf8'));
      writeFileSync(join(cgroup, 'cpu.cfs_quota_us'), String(Math.round(period * options.quotaCores)));
      // Every process of the server, the postmaster first, so the backends it forks from now on inherit it.
      for (const pid of [postmasterPid, ...childrenOf(postmasterPid)])
        writeFileSync(join(cgroup, 'cgroup.procs'), String(pid));
    }
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      port,
      postmasterPid,
      cpusAllowed,
      quotaCores: options.quotaCores,
      stop,
    };
  } catch (err) {
    stop();
    throw err;
  }
}

function childrenOf(pid: number): number[] {
  const out = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  return out.stdout.split('\n').filter(Boolean).map(Number);
}
