import type { ConnectionOptions } from 'node:tls';
import * as z from 'zod';
import type { SecretStore } from '../../engine/ports/secrets.js';
import { CachedSecretStore } from '../secrets/cache.js';
import { parseSecretJson } from '../secrets/secret-json.js';
import { openPgWarehouse, type PgWarehouse } from './pg.js';

/** The shape of an RDS / Aurora database secret (what Secrets Manager rotation writes). */
const databaseSecretSchema = z.object({
  host: z.string().min(1).optional(),
  port: z.coerce.number().int().positive().optional(),
  username: z.string().min(1),
  password: z.string().min(1),
  dbname: z.string().min(1).optional(),
});

const DATABASE_SECRET_SHAPE =
  'a database secret: JSON { "username", "password", optional "host", "port", "dbname" }';

export interface WarehouseFromSecretOptions {
  /** Where the secret lives: Secrets Manager in AWS, the encrypted local file locally. */
  secrets: SecretStore;
  /** The secret's NAME (or ARN); its value is never logged nor put in an error. */
  secretName: string;
  /** Overrides the secret's host (e.g. an RDS Proxy endpoint). */
  host?: string;
  /** @default the secret's dbname, else 'sluice' */
  database?: string;
  ssl?: boolean | ConnectionOptions;
  max?: number;
  /** How long the password is reused before the store is asked again. @default 60000 */
  cacheTtlMs?: number;
  /** Told (by name) when a rejected password made it re-read the secret. */
  onReread?: (secretName: string) => void;
}

/**
 * Opens PostgreSQL with credentials read from a secret by name. The password is fetched for each new
 * connection through a short in-memory cache; when the server answers "invalid password" (28P01) the
 * cached value is dropped and the secret read once more, so rotating it in the middle of a run — the
 * server's password and the secret together — does not fail the run.
 * The user name is read once: rotation strategies that alternate users need a new warehouse.
 */
export async function openPgWarehouseFromSecret(options: WarehouseFromSecretOptions): Promise<PgWarehouse> {
  const cache = new CachedSecretStore(options.secrets, { ttlMs: options.cacheTtlMs ?? 60_000 });
  const read = async () => {
    // Names the secret and the fields that are wrong, never the value nor a piece of it.
    return parseSecretJson(
      options.secretName,
      await cache.get(options.secretName),
      databaseSecretSchema,
      DATABASE_SECRET_SHAPE,
    );
  };
  const first = await read();
  return openPgWarehouse({
    host: options.host ?? first.host ?? 'localhost',
    port: first.port ?? 5432,
    user: first.username,
    password: async () => (await read()).password,
    database: options.database ?? first.dbname ?? 'sluice',
    ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
    ...(options.max !== undefined ? { max: options.max } : {}),
    onAuthenticationFailure: () => {
      cache.invalidate(options.secretName);
      options.onReread?.(options.secretName);
    },
  });
}
