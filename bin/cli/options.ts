// Options several commands share, so they read the same everywhere.
import { InvalidArgumentError, Option } from 'commander';

/** Options several commands share, so they read the same everywhere. */
export const homeOption = () =>
  new Option('--home <dir>', 'local state: staging, embedded database, logs').default('.sluice');

/**
 * `--database-url`. Not bound to DATABASE_URL here: selectDatabase (functions/local/database.ts) reads the
 * environment itself, so every command can say whether the flag or the variable chose the database.
 */
export const databaseOption = (what = 'load into this PostgreSQL') =>
  new Option(
    '--database-url <url>',
    `${what} (else DATABASE_URL, else the secret named by SLUICE_DATABASE_SECRET, else the embedded PGlite under --home)`,
  );

/** `--json`: machine-readable output on stdout, stable field names. */
export const jsonOption = () => new Option('--json', 'print the result as JSON on stdout');

export const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
  return n;
};

export const portNumber = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number from 0 to 65535 (0: any free port)');
  return n;
};
