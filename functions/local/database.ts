// Which database a command reads or loads: one order for every command, and the one line that says which.
import { join, resolve } from 'node:path';
import { openPgWarehouseFromSecret } from '../adapters/warehouse/from-secret.js';
import { openWarehouse } from '../adapters/warehouse/index.js';
import type { SecretStore } from '../engine/ports/secrets.js';
import type { Warehouse } from '../engine/ports/warehouse.js';

/** Where the choice came from, as the line on stderr names it. */
export type DatabaseSource = '--database-url' | 'DATABASE_URL' | 'SLUICE_DATABASE_SECRET' | 'embedded';

export type DatabaseSelection =
  | { source: '--database-url' | 'DATABASE_URL'; databaseUrl: string }
  | { source: 'SLUICE_DATABASE_SECRET'; secretName: string }
  | { source: 'embedded'; pgliteDir: string };

export interface DatabaseChoice {
  /** `--database-url` (a flag's value; tests and the runner pass it as an option). */
  databaseUrl?: string;
  /** A secret name given by the caller; otherwise SLUICE_DATABASE_SECRET. */
  databaseSecret?: string;
  /** Local state folder: the embedded PGlite lives in `<home>/pglite`. @default .sluice */
  home?: string;
}

/**
 * The database every command uses, chosen in one order: `--database-url`, then `DATABASE_URL`, then
 * `SLUICE_DATABASE_SECRET` (the name of a secret holding `{ host, port, username, password, dbname }`
 * in the local secret store or the environment, or the ARN of one in Secrets Manager), then the embedded PGlite under `--home`. An empty
 * value counts as unset.
 *
 * @example selectDatabase({ home: '.sluice' }, { DATABASE_URL: 'postgres://postgres@127.0.0.1/test' })
 *   // { source: 'DATABASE_URL', databaseUrl: 'postgres://postgres@127.0.0.1/test' }
 */
export function selectDatabase(
  choice: DatabaseChoice,
  env: NodeJS.ProcessEnv = process.env,
): DatabaseSelection {
  if (choice.databaseUrl) return { source: '--database-url', databaseUrl: choice.databaseUrl };
  if (env.DATABASE_URL) return { source: 'DATABASE_URL', databaseUrl: env.DATABASE_URL };
  const secretName = choice.databaseSecret || env.SLUICE_DATABASE_SECRET;
  if (secretName) return { source: 'SLUICE_DATABASE_SECRET', secretName };
  return { source: 'embedded', pgliteDir: join(resolve(choice.home ?? '.sluice'), 'pglite') };
}

export interface OpenSelectedOptions {
  /** Where a SLUICE_DATABASE_SECRET name is read (the local encrypted store, then SLUICE_SECRET_<NAME>). */
  secrets: SecretStore;
  /**
   * Where a SLUICE_DATABASE_SECRET that is a Secrets Manager ARN is read.
   * @default - Secrets Manager with the environment's AWS credentials and region
   */
  secretsManager?: () => Promise<SecretStore>;
  /** Pool size for PostgreSQL. @default 4 */
  max?: number;
  /** Told when a rejected password makes the secret be read once more. */
  onReread?: (secretName: string) => void;
}

/** Opens the selected database and checks it answers. */
export async function openSelectedDatabase(
  selection: DatabaseSelection,
  options: OpenSelectedOptions,
): Promise<Warehouse> {
  switch (selection.source) {
    case '--database-url':
    case 'DATABASE_URL':
      return openWarehouse({ databaseUrl: selection.databaseUrl, max: options.max ?? 4 });
    case 'SLUICE_DATABASE_SECRET':
      return openPgWarehouseFromSecret({
        secrets: isSecretsManagerArn(selection.secretName)
          ? await (options.secretsManager ?? secretsManagerStore)()
          : options.secrets,
        secretName: selection.secretName,
        ssl: false,
        max: options.max ?? 4,
        ...(options.onReread ? { onReread: options.onReread } : {}),
      });
    case 'embedded':
      return openWarehouse({ pgliteDir: selection.pgliteDir });
  }
}

/** `arn:aws:secretsmanager:<region>:<account>:secret:<name>`: a secret in AWS rather than a local name. */
export function isSecretsManagerArn(name: string): boolean {
  return name.startsWith('arn:aws:secretsmanager:');
}

/** Secrets Manager, loaded only when a command names a secret there (the SDK stays out of other commands). */
async function secretsManagerStore(): Promise<SecretStore> {
  const [{ SecretsManagerClient }, { SecretsManagerStore }] = await Promise.all([
    import('@aws-sdk/client-secrets-manager'),
    import('../adapters/secrets/secrets-manager.js'),
  ]);
  return new SecretsManagerStore({ client: new SecretsManagerClient({}) });
}

/**
 * The line a command prints on stderr once the database is open: where it points (never a password)
 * and which setting chose it.
 *
 * @example describeDatabase(selection, wh)  // 'database: postgres://postgres@127.0.0.1:5432/test (DATABASE_URL)'
 */
export function describeDatabase(selection: DatabaseSelection, wh: Pick<Warehouse, 'description'>): string {
  const why =
    selection.source === 'SLUICE_DATABASE_SECRET'
      ? `SLUICE_DATABASE_SECRET ${selection.secretName}`
      : selection.source === 'embedded'
        ? 'embedded PGlite under --home'
        : selection.source;
  return `database: ${wh.description} (${why})`;
}
