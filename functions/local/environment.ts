import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LocalAuditAnchor } from '../adapters/audit-anchor/local-file.js';
import { CachedSecretStore } from '../adapters/secrets/cache.js';
import { EnvSecretStore, FallbackSecretStore } from '../adapters/secrets/env.js';
import { LocalSecretStore, readSecretsKey } from '../adapters/secrets/local-file.js';
import { FolderStorage } from '../adapters/storage/folder.js';
import { allowedRootsFromEnv, storageFromLocation } from '../adapters/storage/index.js';
import { openS3Lazily } from '../adapters/storage/lazy-s3.js';
import { connectorRegistry } from '../connectors/registry.js';
import { auditedSecretStore } from '../engine/audit/secrets.js';
import type { SecretStore } from '../engine/ports/secrets.js';
import type { CopyFormat } from '../engine/ports/sql.js';
import type { Warehouse } from '../engine/ports/warehouse.js';
import type { EngineDeps, EngineLogger } from '../engine/run/deps.js';
import type { RetryPolicy } from '../engine/run/retry.js';
import { describeDatabase, openSelectedDatabase, selectDatabase } from './database.js';
import { isLocalHolderAlive, localHolder } from './holder.js';
import { loadSpecFileCached } from './spec-cache.js';

export interface LocalEnvironment {
  /** Folder for local state: staging/, pglite/, logs/, secrets. @default .sluice */
  home?: string;
  /**
   * A PostgreSQL to load instead of the embedded PGlite (`--database-url`); see selectDatabase for the
   * order. @default process.env.DATABASE_URL
   */
  databaseUrl?: string;
  /**
   * Name of a secret (local encrypted file or SLUICE_SECRET_<NAME>) holding the database credentials as
   * JSON `{ host, port, username, password, dbname }`; re-read once when the password is rejected.
   * @default process.env.SLUICE_DATABASE_SECRET
   */
  databaseSecret?: string;
  /**
   * Folders a files `location` may point into besides its spec's folder tree.
   * @default - the folders in SLUICE_ALLOWED_ROOTS (none when unset)
   */
  allowedRoots?: readonly string[];
  /** An already open warehouse (tests); not closed by the runner. */
  warehouse?: Warehouse;
  /** Told which database was opened, as one line (`database: <where> (<which setting>)`), never a password. */
  onDatabase?: (line: string) => void;
  logger?: EngineLogger;
}

/** The local twins: staging in a folder, PGlite or DATABASE_URL, secrets from a local encrypted file or env. */
export async function createLocalDeps(
  options: LocalEnvironment,
): Promise<{ deps: EngineDeps; stagingDir: string; close(): Promise<void> }> {
  const home = resolve(options.home ?? '.sluice');
  const stagingDir = join(home, 'staging');
  mkdirSync(stagingDir, { recursive: true });
  const logger = options.logger ?? fileLogger(join(home, 'logs', 'sluice.log'));
  const allowedRoots = options.allowedRoots ?? allowedRootsFromEnv();
  // Read before anything is opened: a bad value fails here, with nothing to close.
  const retry = retryPolicyFromEnv();
  const copyFormat = copyFormatFromEnv();
  const store = await localSecretStore(home);
  let warehouse = options.warehouse;
  if (!warehouse) {
    const selection = selectDatabase({ ...options, home });
    warehouse = await openSelectedDatabase(selection, {
      secrets: store,
      onReread: (name) =>
        logger.warn('database password rejected; re-read the secret once', { secret: name }),
    });
    options.onDatabase?.(describeDatabase(selection, warehouse));
  }
  const opened = warehouse;
  const deps: EngineDeps = {
    ...(retry ? { retry } : {}),
    ...(copyFormat ? { copyFormat } : {}),
    staging: new FolderStorage(stagingDir),
    warehouse,
    // Cached briefly; every read is audited by name (never by value).
    secrets: auditedSecretStore(new CachedSecretStore(store), () => opened),
    connectors: connectorRegistry,
    readSpecFile: loadSpecFileCached,
    openStorage: (location, baseDir) =>
      storageFromLocation(location, { baseDir, allowedRoots, openS3: openS3Lazily }),
    events: { emit: async (detailType, detail) => logger.info(`event ${detailType}`, detail) },
    logger,
    holder: localHolder(),
    isHolderAlive: isLocalHolderAlive,
    auditAnchor: localAuditAnchor(home),
  };
  return {
    deps,
    stagingDir,
    close: async () => {
      if (!options.warehouse) await opened.close();
    },
  };
}

/**
 * `SLUICE_RETRY_MAX_SECONDS`: how long a step keeps retrying transient database errors (a dropped
 * connection, a restarting server) before the run fails; undefined when unset (the engine's default).
 *
 * @throws Error when it is not a number of seconds (0 turns retries off).
 */
export function retryPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<RetryPolicy> | undefined {
  const text = env.SLUICE_RETRY_MAX_SECONDS?.trim();
  if (!text) return undefined;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new Error(
      `SLUICE_RETRY_MAX_SECONDS must be a number of seconds (0 or more), got ${JSON.stringify(text)}`,
    );
  return seconds === 0 ? { maxAttempts: 1 } : { maxTotalMs: seconds * 1000 };
}

/**
 * `.sluice/secrets.enc` (key in `.sluice/secrets.key`, or SLUICE_SECRETS_KEY) when it exists, then
 * SLUICE_SECRET_<NAME> variables: the local twins of Secrets Manager + KMS.
 */
export async function localSecretStore(home: string): Promise<SecretStore> {
  const file = join(home, 'secrets.enc');
  const keyFile = join(home, 'secrets.key');
  const env = new EnvSecretStore();
  if (!existsSync(file)) return env;
  const key = await readSecretsKey(existsSync(keyFile) && !process.env.SLUICE_SECRETS_KEY ? { keyFile } : {});
  return new FallbackSecretStore([new LocalSecretStore({ file, key }), env]);
}

/** The signed head files under `<home>/audit-anchor/`, keyed by `<home>/audit-anchor.key` (0600). */
export function localAuditAnchor(home: string): LocalAuditAnchor {
  return new LocalAuditAnchor({ dir: join(resolve(home), 'audit-anchor') });
}

/** JSON lines to a file: the console belongs to the progress bar and the summary. */
export function fileLogger(file: string): EngineLogger {
  mkdirSync(join(file, '..'), { recursive: true });
  const write = (level: string) => (message: string, extra?: Record<string, unknown>) =>
    appendFileSync(file, `${JSON.stringify({ time: new Date().toISOString(), level, message, ...extra })}\n`);
  return { debug: () => {}, info: write('INFO'), warn: write('WARN'), error: write('ERROR') };
}

/** SLUICE_COPY_FORMAT=csv|binary: how chunks COPY into staging (EngineDeps.copyFormat; the bench's A/B). */
export function copyFormatFromEnv(env: NodeJS.ProcessEnv = process.env): CopyFormat | undefined {
  const value = env.SLUICE_COPY_FORMAT;
  if (value === undefined || value === '') return undefined;
  if (value === 'csv' || value === 'binary') return value;
  throw new Error(`SLUICE_COPY_FORMAT must be csv or binary, not ${JSON.stringify(value)}`);
}
