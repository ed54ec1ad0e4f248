// The database of a read command (runs, rejects, state, audit): chosen by selectDatabase, named on stderr, closed after.
import type { Warehouse } from '../../functions/engine/ports/index.js';

export interface DatabaseOptions {
  home: string;
  databaseUrl?: string;
}

/**
 * Opens the database the same way `run` does (`--database-url`, `DATABASE_URL`, `SLUICE_DATABASE_SECRET`,
 * the embedded PGlite under `--home`), prints which one on stderr, brings its internal schema up to
 * date, runs fn and closes it.
 */
export async function withDatabase<T>(opts: DatabaseOptions, fn: (wh: Warehouse) => Promise<T>): Promise<T> {
  const [
    { selectDatabase, openSelectedDatabase, describeDatabase },
    { localSecretStore },
    { ensureInternalSchema },
  ] = await Promise.all([
    import('../../functions/local/database.js'),
    import('../../functions/local/environment.js'),
    import('../../functions/engine/load/index.js'),
  ]);
  const selection = selectDatabase(opts);
  const wh = await openSelectedDatabase(selection, { secrets: await localSecretStore(opts.home), max: 2 });
  try {
    process.stderr.write(`${describeDatabase(selection, wh)}\n`);
    await ensureInternalSchema(wh);
    return await fn(wh);
  } finally {
    await wh.close();
  }
}

/** Prints the database line of a command that opens it through createLocalDeps (run, redrive, plan). */
export const printDatabaseLine = (line: string) => process.stderr.write(`${line}\n`);
