import { InvalidArgumentError, Option } from 'commander';

/** Options several commands share, so they read the same everywhere. */
export const homeOption = () =>
  new Option('--home <dir>', 'local state: staging, embedded database, logs').default('.sluice');

export const databaseOption = (what = 'load into this PostgreSQL instead of the embedded PGlite') =>
  new Option('--database-url <url>', what).env('DATABASE_URL');

export const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
  return n;
};
