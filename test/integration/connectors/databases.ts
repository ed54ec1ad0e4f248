import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { PgWarehouse } from '../../../functions/adapters/warehouse/pg.js';
import { TEST_DATABASE_URL, withAdminClient } from '../warehouse/targets.js';

/**
 * The real databases the connector tests read from, with the policy of ../warehouse/targets.ts: under
 * CI=true an unreachable server fails the tests; otherwise the tests are skipped with a warning.
 */
const IN_CI = process.env.CI === 'true';
export const MYSQL_TEST_URL = process.env.SLUICE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** A fixture spec copied into a fresh folder with `__NAME__` placeholders replaced. */
export function specFromFixture(name: string, values: Record<string, string>): string {
  let text = readFileSync(join(FIXTURES, name), 'utf8');
  for (const [k, v] of Object.entries(values)) text = text.replaceAll(`__${k}__`, v);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-connector-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function reachable(what: string, probe: () => Promise<unknown>): Promise<boolean> {
  if (IN_CI) return true;
  try {
    await probe();
    return true;
  } catch (err) {
    console.warn(
      `[connector tests] SKIPPING the ${what} tests: ${err instanceof Error ? err.message : String(err)}. With CI=true this fails instead.`,
    );
    return false;
  }
}

export const postgresAvailable = await reachable('PostgreSQL', () =>
  withAdminClient((c) => c.query('SELECT 1')),
);

/** A fresh database on the test PostgreSQL: a client on it, a warehouse on it, and its name. */
export interface ScratchPg {
  database: string;
  url: string;
  client: pg.Client;
  dispose(): Promise<void>;
}

export async function createScratchPg(prefix: string): Promise<ScratchPg> {
  const database = `${prefix}_${randomBytes(5).toString('hex')}`;
  await withAdminClient((c) => c.query(`CREATE DATABASE ${database}`));
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  return {
    database,
    url: url.toString(),
    client,
    async dispose() {
      await client.end().catch(() => undefined);
      await withAdminClient((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    },
  };
}

export function openPgWarehouse(url: string): PgWarehouse {
  return new PgWarehouse({ connectionString: url, max: 6 });
}

async function withMysql<T>(
  database: string | undefined,
  fn: (c: mysql.Connection) => Promise<T>,
): Promise<T> {
  const url = new URL(MYSQL_TEST_URL);
  const conn = await mysql.createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    ...(database ? { database } : {}),
    connectTimeout: 3000,
    multipleStatements: true,
  });
  try {
    return await fn(conn);
  } finally {
    await conn.end();
  }
}

export const mysqlAvailable = await reachable('MySQL/MariaDB', () =>
  withMysql(undefined, (c) => c.query('SELECT 1')),
);

/** A fresh database on the test MySQL/MariaDB, with a connection to it. */
export interface ScratchMysql {
  database: string;
  host: string;
  port: number;
  user: string;
  query(sql: string): Promise<unknown>;
  dispose(): Promise<void>;
}

export async function createScratchMysql(prefix: string): Promise<ScratchMysql> {
  const database = `${prefix}_${randomBytes(5).toString('hex')}`;
  await withMysql(undefined, (c) => c.query(`CREATE DATABASE ${database}`));
  const url = new URL(MYSQL_TEST_URL);
  return {
    database,
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    query: (sql) => withMysql(database, (c) => c.query(sql)),
    dispose: async () => {
      await withMysql(undefined, (c) => c.query(`DROP DATABASE IF EXISTS ${database}`));
    },
  };
}
