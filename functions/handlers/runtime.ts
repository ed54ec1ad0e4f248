import { hostname } from 'node:os';
import type { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { S3ObjectLockAuditAnchor } from '../adapters/audit-anchor/s3-object-lock.js';
import { CachedSecretStore } from '../adapters/secrets/cache.js';
import { EnvSecretStore } from '../adapters/secrets/env.js';
import { SecretsManagerStore } from '../adapters/secrets/secrets-manager.js';
import { FolderStorage } from '../adapters/storage/folder.js';
import { allowedRootsFromEnv, storageFromLocation } from '../adapters/storage/index.js';
import { createS3Client, S3Storage } from '../adapters/storage/s3.js';
import { openPgWarehouseFromSecret } from '../adapters/warehouse/from-secret.js';
import { openPgWarehouse } from '../adapters/warehouse/pg.js';
import { connectorRegistry } from '../connectors/registry.js';
import { auditedSecretStore } from '../engine/audit/secrets.js';
import type { AuditAnchor } from '../engine/ports/audit-anchor.js';
import type { SecretStore } from '../engine/ports/secrets.js';
import type { Storage } from '../engine/ports/storage.js';
import type { Warehouse } from '../engine/ports/warehouse.js';
import type { EngineDeps, EngineLogger, RunEventSink } from '../engine/run/deps.js';
import type { HandlerEnv } from './env.js';

/**
 * Builds the engine's dependencies from the handler environment, once per cold start. Lambda and the
 * Fargate worker use the same function; so does a local child worker (with folder + DATABASE_URL).
 */
export async function depsFromEnv(
  env: HandlerEnv,
  logger: EngineLogger,
  options: {
    holder?: string;
    /** Where run events go; only commit and fail emit any (see events.ts). @default the log */
    events?: RunEventSink;
  } = {},
): Promise<EngineDeps> {
  let s3: S3Client | undefined;
  const s3Client = () => {
    s3 ??= createS3Client();
    return s3;
  };
  const staging: Storage = env.SLUICE_STAGING_BUCKET
    ? new S3Storage({ client: s3Client(), bucket: env.SLUICE_STAGING_BUCKET })
    : new FolderStorage(env.SLUICE_STAGING_DIR ?? '.sluice/staging');

  let secrets: SecretStore;
  let secretsManager: SecretsManagerClient | undefined;
  if (env.SLUICE_DATABASE_SECRET_ARN || env.SLUICE_STAGING_BUCKET) {
    secretsManager = new SecretsManagerClient({});
    secrets = new SecretsManagerStore({ client: secretsManager, prefix: env.SLUICE_SECRET_PREFIX });
  } else {
    secrets = new EnvSecretStore();
  }

  const warehouse = await openWarehouseFromEnv(env, secretsManager, logger);
  const auditAnchor = auditAnchorFromEnv(env, s3Client);
  return {
    ...(auditAnchor ? { auditAnchor } : {}),
    staging,
    warehouse,
    // Cached briefly in the warm container; every read is audited by name (never by value).
    secrets: auditedSecretStore(new CachedSecretStore(secrets), () => warehouse),
    connectors: connectorRegistry,
    openStorage: (location, baseDir) =>
      storageFromLocation(location, {
        baseDir,
        allowedRoots: allowedRootsFromEnv(env.SLUICE_ALLOWED_ROOTS),
        // In AWS a run starts from the published spec, whose baseDir is '/': not a folder to trust.
        baseDirIsRoot: !env.SLUICE_STAGING_BUCKET,
        openS3: (bucket, prefix) => new S3Storage({ client: s3Client(), bucket, prefix }),
      }),
    readSpecFile: async (file) => {
      throw new Error(
        `runs in AWS start from the spec published to staging (s3://<staging>/specs/<pipeline>/<sha256>.json), not from a file: ${file}`,
      );
    },
    events: options.events ?? logEventSink(logger),
    logger,
    holder: options.holder ?? `${hostname()}:${process.pid}`,
  };
}

/** The stage's Object Lock bucket when SLUICE_AUDIT_ANCHOR_BUCKET is set (commit and fail in AWS). */
export function auditAnchorFromEnv(env: HandlerEnv, s3Client: () => S3Client): AuditAnchor | undefined {
  if (!env.SLUICE_AUDIT_ANCHOR_BUCKET) return undefined;
  return new S3ObjectLockAuditAnchor({
    client: s3Client(),
    bucket: env.SLUICE_AUDIT_ANCHOR_BUCKET,
    ...(env.SLUICE_AUDIT_ANCHOR_MODE ? { mode: env.SLUICE_AUDIT_ANCHOR_MODE } : {}),
    ...(env.SLUICE_AUDIT_ANCHOR_RETENTION_DAYS
      ? { retentionDays: env.SLUICE_AUDIT_ANCHOR_RETENTION_DAYS }
      : {}),
  });
}

async function openWarehouseFromEnv(
  env: HandlerEnv,
  client: SecretsManagerClient | undefined,
  logger?: EngineLogger,
): Promise<Warehouse> {
  if (env.DATABASE_URL) return openPgWarehouse({ connectionString: env.DATABASE_URL, max: 2 });
  if (!env.SLUICE_DATABASE_SECRET_ARN || !client) throw new Error('no database configured');
  return openPgWarehouseFromSecret({
    secrets: new SecretsManagerStore({ client, prefix: '' }),
    secretName: env.SLUICE_DATABASE_SECRET_ARN,
    ...(env.SLUICE_DATABASE_HOST ? { host: env.SLUICE_DATABASE_HOST } : {}),
    // RDS Proxy and Aurora present the RDS CA; Lambda ships it via NODE_EXTRA_CA_CERTS.
    ssl: { rejectUnauthorized: true },
    max: 2,
    onReread: (name) => logger?.warn('database password rejected; re-read the secret once', { secret: name }),
  });
}

let shared: Promise<EngineDeps> | undefined;

/**
 * The warm container's dependencies: created on first use and kept (pool, clients), rebuilt after a
 * failure to create them so one bad cold start does not poison the container.
 */
export function sharedDeps(
  env: HandlerEnv,
  logger: EngineLogger,
  events?: RunEventSink,
): Promise<EngineDeps> {
  shared ??= depsFromEnv(env, logger, events ? { events } : {}).catch((err: unknown) => {
    shared = undefined;
    throw err;
  });
  return shared;
}

/** Run events written to the log: local runs, and handlers that emit none. */
export function logEventSink(logger: EngineLogger): RunEventSink {
  return { emit: async (detailType, detail) => logger.info(`event ${detailType}`, detail) };
}
