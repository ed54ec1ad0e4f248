import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PgWarehouse } from '../../../functions/adapters/warehouse/pg.js';
import { type Warehouse, WarehouseUnavailableError } from '../../../functions/engine/ports/warehouse.js';
import { isTransientError } from '../../../functions/engine/run/retry.js';
import { depsFromEnv } from '../../../functions/handlers/runtime.js';
import { TcpProxy } from '../../support/tcp-proxy.js';
import { type TestWarehouse, type WarehouseTarget, warehouseTargets } from './targets.js';

/** The real PostgreSQL (always there under CI=true, see targets.ts): a proxy needs a TCP server. */
const pgTarget = warehouseTargets.find((t): t is WarehouseTarget => t.name === 'pg');

/** `url` with its port replaced by the proxy's. */
function throughProxy(url: string, proxy: TcpProxy): string {
  const u = new URL(url);
  u.port = String(proxy.port);
  return u.toString();
}

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * A connection that breaks while a client is checked out of the pool (inside a transaction, under a
 * COPY, during a statement) must reject what is in flight and what comes next, never emit an unhandled
 * 'error' event (which ends the process: vitest reports it as an unhandled error and fails the file).
 */
describe.skipIf(!pgTarget)('a dropped connection to PostgreSQL', () => {
  let db: TestWarehouse;
  let proxy: TcpProxy;
  const opened: Warehouse[] = [];

  beforeAll(async () => {
    db = await pgTarget!.open();
    await db.wh.query('CREATE TABLE drops (id int PRIMARY KEY, note text)');
    const target = new URL(db.url!);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  });
  afterEach(async () => {
    proxy.refuseFor(0);
    await Promise.all(opened.splice(0).map((wh) => wh.close().catch(() => undefined)));
    await db.wh.query('TRUNCATE drops');
  });
  afterAll(async () => {
    await proxy?.close();
    await db?.dispose();
  });

  function warehouse(): Warehouse {
    const wh = new PgWarehouse({ connectionString: throughProxy(db.url!, proxy), max: 2 });
    opened.push(wh);
    return wh;
  }

  it('fails when the connection drops between two statements of a transaction, and the next one works', async () => {
    const wh = warehouse();

    const failed = wh.transaction(async (tx) => {
      await tx.query("INSERT INTO drops VALUES (1, 'before the cut')");
      proxy.cutAll();
      await new Promise((r) => setTimeout(r, 100)); // the 'error' arrives while no statement runs
      await tx.query("INSERT INTO drops VALUES (2, 'after the cut')");
    });

    await expect(failed).rejects.toBeInstanceOf(WarehouseUnavailableError);
    await expect(failed).rejects.toThrow(
      /^cannot reach the database at postgres:\/\/postgres@127\.0\.0\.1:\d+\/sluice_t_[0-9a-f]+: Connection terminated unexpectedly$/,
    );
    expect(isTransientError(await failed.catch((e: unknown) => e))).toBe(true);
    expect((await db.wh.query('SELECT count(*)::int AS n FROM drops')).rows).toEqual([{ n: 0 }]);
    expect((await wh.query<{ ok: number }>('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('fails when the connection drops during a statement', async () => {
    const wh = warehouse();
    setTimeout(() => proxy.cutAll(), 150);

    const failed = wh.query('SELECT pg_sleep(5)');

    await expect(failed).rejects.toBeInstanceOf(WarehouseUnavailableError);
    expect((await wh.query<{ ok: number }>('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('fails when the connection drops in the middle of a COPY, and nothing of it is committed', async () => {
    const wh = warehouse();
    const lines = Array.from({ length: 50_000 }, (_, i) => `${i},row number ${i}\n`);

    const failed = wh.transaction(async (tx) => {
      proxy.cutAfterBytes(200_000);
      return tx.copyCsv('drops', ['id', 'note'], Readable.from(lines));
    });

    await expect(failed).rejects.toBeInstanceOf(WarehouseUnavailableError);
    expect((await db.wh.query('SELECT count(*)::int AS n FROM drops')).rows).toEqual([{ n: 0 }]);
  });

  it('fails with a transient error while the server refuses connections, then connects again', async () => {
    const wh = warehouse();
    proxy.refuseFor(60_000);

    const failed = wh.query('SELECT 1');

    await expect(failed).rejects.toBeInstanceOf(WarehouseUnavailableError);
    expect(isTransientError(await failed.catch((e: unknown) => e))).toBe(true);
    proxy.refuseFor(0);
    expect((await wh.query<{ ok: number }>('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('fails cleanly in the Lambda path too (the warehouse depsFromEnv builds)', async () => {
    const deps = await depsFromEnv(
      {
        DATABASE_URL: throughProxy(db.url!, proxy),
        SLUICE_STAGING_DIR: '/tmp',
        SLUICE_SECRET_PREFIX: 'sluice/',
        POWERTOOLS_SERVICE_NAME: 'sluice',
      },
      silentLogger,
    );
    opened.push(deps.warehouse);

    const failed = deps.warehouse.transaction(async (tx) => {
      await tx.query('SELECT 1');
      proxy.cutAll();
      await new Promise((r) => setTimeout(r, 100));
      await tx.query('SELECT 2');
    });

    await expect(failed).rejects.toBeInstanceOf(WarehouseUnavailableError);
    expect((await deps.warehouse.query<{ ok: number }>('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });
});
