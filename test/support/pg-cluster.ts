// A private PostgreSQL cluster made with the installed server's programs: the logical-WAL instance of the CDC tests (logical-pg.ts) and the bench's own server (bench/pg-instance.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The server's programs (`initdb`, `pg_ctl`): `$SLUICE_PG_BIN`, default Debian's PostgreSQL 15. */
export const PG_BIN = process.env.SLUICE_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** PostgreSQL refuses to run as root: as root, clusters belong to `postgres` and its programs run as it. */
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Runs one of the server's programs (as `postgres` when we are root; under `taskset -c pinTo` when
 * given); throws with its output on failure.
 */
export function pgCommand(
  program: string,
  args: string[],
  options: { pinTo?: string | undefined; timeoutMs?: number } = {},
): string {
  const file = join(PG_BIN, program);
  const argv = asRoot ? ['runuser', '-u', 'postgres', '--', file, ...args] : [file, ...args];
  const [cmd, ...rest] = options.pinTo ? ['taskset', '-c', options.pinTo, ...argv] : argv;
  const out = spawnSync(cmd!, rest, { encoding: 'utf8', timeout: options.timeoutMs ?? 60_000 });
  if (out.status !== 0)
    throw new Error(
      `${program} ${args.join(' ')} failed (exit ${out.status ?? out.signal}): ${(out.stderr || out.stdout || String(out.error ?? '')).trim()}`,
    );
  return out.stdout;
}

/** Lets the server's user (`postgres`, when we are root) create its cluster inside `dir`. */
export function handToServerUser(dir: string): void {
  if (!asRoot) return;
  execFileSync('chown', ['postgres:postgres', dir]);
  chmodSync(dir, 0o755);
}

/**
 * `initdb` of a trust-auth UTF-8 cluster in `data` that listens on 127.0.0.1:`port` only (its socket
 * in `data`), in UTC, with `settings` (postgresql.conf lines) after those.
 */
export function initCluster(data: string, port: number, settings: string[]): void {
  pgCommand('initdb', [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=trust',
    '--encoding=UTF8',
    '--locale=C.UTF-8',
    '-N',
  ]);
  const conf = [
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    `unix_socket_directories = '${data}'`,
    'max_connections = 60',
    "timezone = 'UTC'",
    ...settings,
    '',
  ].join('\n');
  const confFile = join(data, 'postgresql.auto.conf');
  writeFileSync(confFile, `${readFileSync(confFile, 'utf8')}\n${conf}`);
}
