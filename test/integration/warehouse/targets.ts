import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PgWarehouse } from '../../../functions/adapters/warehouse/pg.js';
import { PgliteWarehouse } from '../../../functions/adapters/warehouse/pglite.js';
import type { Warehouse } from '../../../functions/engine/ports/warehouse.js';

/**
 * The warehouses integration tests run against, for `describe.each(warehouseTargets)`:
 *
 * - `pglite`: always; an in-memory PGlite per open() (start it once per file: it takes ~3 s).
 * - `pg`: the PostgreSQL at SLUICE_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test);
 *   each open() creates a fresh database `sluice_t_<random>` there and dispose() drops it.
 *   With CI=true it is always included, so an unreachable server FAILS the tests; otherwise an
 *   unreachable server drops the pg variant with a warning saying why.
 *
 * @example
 * describe.each(warehouseTargets)('on $name', (target) => {
 *   let db: TestWarehouse;
 *   beforeAll(async () => { db = await target.open(); });
 *   afterAll(() => db.dispose());
 * });
 */
export interface WarehouseTarget {
  readonly name: 'pg' | 'pglite';
  open(): Promise<TestWarehouse>;
}

export interface TestWarehouse {
  readonly wh: Warehouse;
  /** postgres:// URL of the test database (pg only), for tests that start another process. */
  readonly url?: string;
  /** Closes the warehouse and deletes its database. */
  dispose(): Promise<void>;
}

export const TEST_DATABASE_URL =
  process.env.SLUICE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const IN_CI = process.env.CI === 'true';

const pgliteTarget: WarehouseTarget = {
  name: 'pglite',
  async open() {
    const wh = await PgliteWarehouse.open();
    return { wh, dispose: () => wh.close() };
  },
};

const pgTarget: WarehouseTarget = {
  name: 'pg',
  async open() {
    const database = `sluice_t_${randomBytes(6).toString('hex')}`;
    await withAdminClient((c) => c.query(`CREATE DATABASE ${database}`)).catch((err: unknown) => {
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(
        `cannot create a test database on the PostgreSQL at ${new URL(TEST_DATABASE_URL).host}: ${why}`,
      );
    });
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/${database}`;
    const wh = new PgWarehouse({ connectionString: url.toString(), max: 6 });
    return {
      wh,
      url: url.toString(),
      async dispose() {
        await wh.close();
        await withAdminClient((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
      },
    };
  },
};

/** A short-lived client on the test server's admin database (create/drop test databases). */
export async function withAdminClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function pgUnreachableReason(): Promise<string | undefined> {
  try {
    await withAdminClient((c) => c.query('SELECT 1'));
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message || err.name : String(err);
  }
}

async function availableTargets(): Promise<WarehouseTarget[]> {
  if (IN_CI) return [pgTarget, pgliteTarget];
  const reason = await pgUnreachableReason();
  if (reason === undefined) return [pgTarget, pgliteTarget];
  console.warn(
    `[warehouse targets] SKIPPING the PostgreSQL variant: cannot reach ${new URL(TEST_DATABASE_URL).host} (${reason}). ` +
      'Start PostgreSQL or set SLUICE_TEST_DATABASE_URL; with CI=true this fails instead.',
  );
  return [pgliteTarget];
}

/** The targets to test on this machine (see WarehouseTarget). */
export const warehouseTargets: readonly WarehouseTarget[] = await availableTargets();
