// A second PostgreSQL of the tests' own, with wal_level=logical, for the CDC and delete tests (the machine's stays at replica).
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { handToServerUser, initCluster, PG_BIN, pgCommand } from './pg-cluster.js';

/**
 * The instance lives in `$SLUICE_LOGICAL_PG_DIR` (default `<tmp>/sluice-logical-pg-<port>`) on
 * `$SLUICE_LOGICAL_PG_PORT` (default 5433), made with the installed server's `initdb` and `pg_ctl`
 * (`$SLUICE_PG_BIN`, default /usr/lib/postgresql/15/bin). PostgreSQL refuses to run as root: as root the
 * folder belongs to the `postgres` user and the commands run through `runuser -u postgres`.
 *
 * Idempotent: an instance already answering on the port is reused (when its wal_level is logical; else
 * this fails saying so). `stopLogicalPostgres` stops it and deletes the folder only when this machine's
 * marker says the given owner started it, so a developer's running instance is left alone.
 */
export const LOGICAL_PG_PORT = Number(process.env.SLUICE_LOGICAL_PG_PORT ?? 5433);
const DIR = process.env.SLUICE_LOGICAL_PG_DIR ?? join(tmpdir(), `sluice-logical-pg-${LOGICAL_PG_PORT}`);
const DATA = join(DIR, 'data');
const LOCK = join(DIR, '.starting');
const MARKER = join(DIR, 'started-by');

/** postgres:// URL of a database on the logical instance. */
export function logicalPgUrl(database = 'postgres'): string {
  return `postgres://postgres@127.0.0.1:${LOGICAL_PG_PORT}/${database}`;
}

/** Who may stop what this process starts: set by the vitest global setup, else "manual" (never stopped). */
function owner(): string {
  return process.env.SLUICE_LOGICAL_PG_OWNER ?? 'manual';
}

async function walLevel(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: logicalPgUrl(), connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function withStartLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(DIR, { recursive: true });
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // A lock left by a killed starter is stale after a minute.
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 60_000)
        rmSync(LOCK, { force: true, recursive: true });
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${LOCK} (another test starting the instance)`);
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { force: true, recursive: true });
  }
}

/**
 * Starts (or reuses) the logical-WAL PostgreSQL and returns the URL of its `postgres` database.
 * @throws when the server programs are missing or the instance cannot start, with the reason.
 */
export async function startLogicalPostgres(): Promise<string> {
  if ((await walLevel()) === 'logical') return logicalPgUrl();
  if (!existsSync(join(PG_BIN, 'initdb')))
    throw new Error(
      `no PostgreSQL server programs in ${PG_BIN} (set SLUICE_PG_BIN): cannot start a logical-WAL instance`,
    );
  return withStartLock(async () => {
    const level = await walLevel();
    if (level === 'logical') return logicalPgUrl();
    if (level !== undefined)
      throw new Error(
        `a PostgreSQL on port ${LOGICAL_PG_PORT} runs with wal_level=${level}; the CDC tests need logical: set SLUICE_LOGICAL_PG_PORT to a free port`,
      );
    handToServerUser(DIR);
    if (!existsSync(join(DATA, 'PG_VERSION'))) {
      rmSync(DATA, { force: true, recursive: true });
      initCluster(DATA, LOGICAL_PG_PORT, [
        'wal_level = logical',
        'max_replication_slots = 16',
        'max_wal_senders = 16',
        // A test instance: durability is not the point, speed on a shared 2-core machine is. (Not
        // synchronous_commit=off: logical decoding reads only flushed WAL, so changes would arrive late.)
        'fsync = off',
        'full_page_writes = off',
        'shared_buffers = 32MB',
      ]);
    }
    pgCommand('pg_ctl', ['-D', DATA, '-l', join(DATA, 'server.log'), '-w', '-t', '60', 'start']);
    writeFileSync(MARKER, owner());
    if ((await walLevel()) !== 'logical')
      throw new Error(
        `the instance in ${DATA} started but does not answer with wal_level=logical on port ${LOGICAL_PG_PORT}`,
      );
    return logicalPgUrl();
  });
}

/** Stops the instance and deletes its folder if `by` started it (see the marker); else leaves it running. */
export function stopLogicalPostgres(by: string): boolean {
  if (!existsSync(MARKER) || readFileSync(MARKER, 'utf8') !== by) return false;
  if (existsSync(join(DATA, 'postmaster.pid'))) pgCommand('pg_ctl', ['-D', DATA, '-m', 'fast', '-w', 'stop']);
  rmSync(DIR, { force: true, recursive: true });
  return true;
}

/**
 * For a test file: the URL of the logical instance, or undefined with a printed reason when it cannot
 * start and CI is not set. Under CI=true a failure to start throws: the CDC tests never skip there.
 */
export async function logicalPostgresForTests(what: string): Promise<string | undefined> {
  try {
    return await startLogicalPostgres();
  } catch (err) {
    if (process.env.CI === 'true') throw err;
    console.warn(
      `[${what}] SKIPPED: no PostgreSQL with wal_level=logical: ${err instanceof Error ? err.message : String(err)}. With CI=true this fails instead.`,
    );
    return undefined;
  }
}
