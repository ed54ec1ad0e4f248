import { type Warehouse, WarehouseUnavailableError } from '../../engine/ports/warehouse.js';
import { openPgWarehouse } from './pg.js';

export { quoteIdent, quoteQualified } from '../../engine/ports/sql.js';
export type { QueryResult, Warehouse, WarehouseTx } from '../../engine/ports/warehouse.js';
export { WarehouseUnavailableError } from '../../engine/ports/warehouse.js';
export { describePgTarget, openPgWarehouse, PgWarehouse, type PgWarehouseConfig } from './pg.js';
// Type only: PGlite (48 MB of WASM once imported) loads on demand, never in a process that uses pg.
export type { PgliteWarehouse } from './pglite.js';

export interface OpenWarehouseOptions {
  /** postgres:// or postgresql:// URL: use PostgreSQL (Aurora, a local server). Wins over pgliteDir. */
  databaseUrl?: string;
  /** Folder of the embedded PGlite database (created if missing); in memory when neither is set. */
  pgliteDir?: string;
  /** Pool size for PostgreSQL. @default 4 */
  max?: number;
}

/**
 * Opens the warehouse a run loads into and checks it answers (`SELECT 1`).
 *
 * @example
 * const wh = await openWarehouse({ databaseUrl: process.env.DATABASE_URL, pgliteDir: '.sluice/db' });
 * @throws WarehouseUnavailableError when it cannot be reached (the message never carries a password).
 */
export async function openWarehouse(options: OpenWarehouseOptions): Promise<Warehouse> {
  const url = options.databaseUrl;
  if (url !== undefined && url !== '' && !/^postgres(ql)?:\/\//.test(url)) {
    throw new Error('databaseUrl must start with postgres:// or postgresql://');
  }
  if (url)
    return openPgWarehouse({
      connectionString: url,
      ...(options.max !== undefined ? { max: options.max } : {}),
    });
  const { PgliteWarehouse } = await import('./pglite.js');
  const wh = await PgliteWarehouse.open(options.pgliteDir);
  try {
    await wh.query('SELECT 1');
  } catch (err) {
    await wh.close().catch(() => undefined);
    throw new WarehouseUnavailableError(wh.description, err);
  }
  return wh;
}
