/**
 * CPU time of a PostgreSQL server and of the whole machine, read from /proc, so the bench can put the
 * server's share of a load next to its wall time.
 *
 * Server CPU = the postmaster's utime + stime + cutime + cstime (cutime/cstime hold every child it has
 * reaped: backends that exited, parallel workers, autovacuum workers) + the utime + stime + cutime +
 * cstime of its live children (backends still connected, and the checkpointer, background writer,
 * WAL writer, autovacuum launcher: work the load caused is counted wherever the server did it). Taken
 * before and after a load, the difference is the load's server CPU, as long as the loader's backends
 * have exited and been reaped by the second sample (`waitForLoaderBackends`), else their time would be
 * missing from both the live children and the postmaster's cumulative counters.
 *
 * On a server shared with other clients their backends' CPU is counted too: the bench reports how many
 * other client backends were connected at the end of each load (`otherBackends`) so a noisy sample shows.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';

const CLOCK_TICKS = clockTicks();

function clockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (Number.isFinite(ticks) && ticks > 0) return ticks;
  } catch {
    // getconf missing: Linux has used 100 ticks per second on every common platform.
  }
  return 100;
}

interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function parseStat(pid: number, text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close === -1) return undefined;
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state) of proc(5); utime..cstime are fields 14..17.
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  if (!Number.isFinite(ticks)) return undefined;
  return { pid, state: f[0] ?? '?', ppid: Number(f[1]), ticks };
}

function readStat(pid: number): ProcStat | undefined {
  try {
    return parseStat(pid, readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // gone between the listing and the read
  }
}

function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) out.push(stat);
  }
  return out;
}

/** Busy CPU seconds of the whole machine since boot (/proc/stat: all but idle and iowait). */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const busy = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0);
  return busy / CLOCK_TICKS;
}

export interface CpuSample {
  /** Server CPU seconds so far (postmaster and its reaped children, plus live children). */
  server: number;
  /** Machine busy seconds since boot. */
  machine: number;
}

export class ServerCpu {
  private constructor(readonly postmasterPid: number) {}

  /**
   * Finds the postmaster of the server `db` is connected to: its data directory's postmaster.pid,
   * else (a user who cannot read that directory) a process whose command line names the directory.
   * @throws when the server does not run on this machine, saying so.
   */
  static async locate(db: pg.Client): Promise<ServerCpu> {
    const dir = (await db.query<{ data_directory: string }>('SHOW data_directory')).rows[0]!.data_directory;
    const port = Number((await db.query<{ port: string }>('SHOW port')).rows[0]!.port);
    let pid: number | undefined;
    try {
      const lines = readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n');
      if (Number(lines[3]) === port) pid = Number(lines[0]);
    } catch {
      // Backends rewrite their command line ("postgres: 15/main: …"); only the postmaster keeps `-D <dir>`.
      pid = allProcesses().find((p) => {
        const argv = cmdline(p.pid).split('\0');
        return /(postgres|postmaster)$/.test(argv[0] ?? '') && argv.includes(dir);
      })?.pid;
    }
    if (!pid || !readStat(pid))
      throw new Error(
        `server CPU: no postmaster for data_directory ${dir} (port ${port}) on this machine: the database runs elsewhere or this user cannot see it. Run the bench on the database's host, or pass --no-server-cpu`,
      );
    return new ServerCpu(pid);
  }

  sample(): CpuSample {
    const post = readStat(this.postmasterPid);
    if (!post) throw new Error(`server CPU: the postmaster (pid ${this.postmasterPid}) is gone`);
    let ticks = post.ticks;
    for (const p of allProcesses()) if (p.ppid === this.postmasterPid) ticks += p.ticks;
    return { server: ticks / CLOCK_TICKS, machine: machineBusySeconds() };
  }

  /** Live children of the postmaster that have exited but are not yet reaped (their time is in neither sum). */
  zombies(): number {
    return allProcesses().filter((p) => p.ppid === this.postmasterPid && p.state === 'Z').length;
  }

  /**
   * Waits until no backend of the loader (by application_name) is connected to `db`'s database and the
   * postmaster has reaped every exited child; returns how many other client backends were connected.
   * Gives up after `timeoutMs` with a warning line, so a stuck session elsewhere cannot hang the bench.
   */
  async waitForLoaderBackends(
    db: pg.Client,
    applicationNames: string[],
    log: (line: string) => void,
    timeoutMs = 10_000,
  ): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await db.query<{ ours: string; others: string }>(
        `SELECT count(*) FILTER (WHERE application_name = ANY($1)) AS ours,
                count(*) FILTER (WHERE NOT application_name = ANY($1)) AS others
           FROM pg_stat_activity
          WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
        [applicationNames],
      );
      const ours = Number(rows[0]!.ours);
      if (ours === 0 && this.zombies() === 0) return Number(rows[0]!.others);
      if (Date.now() > deadline) {
        log(
          `  (server CPU: after ${timeoutMs / 1000} s, ${ours} loader backends still connected, ${this.zombies()} unreaped: their time may be missing)`,
        );
        return Number(rows[0]!.others);
      }
      await sleep(20);
    }
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}
