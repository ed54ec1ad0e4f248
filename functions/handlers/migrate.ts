import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { parseSecretJson } from '../adapters/secrets/secret-json.js';
// The pg twin only: the adapters' index also loads PGlite, which is never bundled for Lambda.
import { PgWarehouse } from '../adapters/warehouse/pg.js';
import { handTargetToLoader } from '../engine/load/loader-grants.js';
import { ensureLogins, type LoginGroup, type LoginSpec } from '../engine/load/logins.js';
import { ensureInternalSchema } from '../engine/load/migrations.js';
import { ensureTargetTable } from '../engine/load/target.js';
import type { Warehouse } from '../engine/ports/warehouse.js';
import { parsePublishedSpec } from '../engine/spec/parse.js';
import { makeHandler } from './make-handler.js';
import { logger, tracer } from './powertools.js';

/**
 * CloudFormation custom resource (through the CDK Provider framework) for deploy-time database work:
 * - `Custom::SluiceInternalSchema` applies Sluice's versioned migrations (recorded in the database);
 * - `Custom::SluicePipelineRelease` publishes a pipeline's validated spec to staging under its content
 *   hash and creates or migrates its partitioned target table, returning the spec's location.
 * Deletes never drop anything: tables, data and published specs outlive the stack.
 */

const propertiesSchema = z.discriminatedUnion('Kind', [
  z.looseObject({ Kind: z.literal('internal-schema') }),
  z.looseObject({ Kind: z.literal('pipeline'), Pipeline: z.string().min(1), Spec: z.string().min(2) }),
]);

export const migrationRequestSchema = z.looseObject({
  RequestType: z.enum(['Create', 'Update', 'Delete']),
  PhysicalResourceId: z.string().optional(),
  ResourceProperties: z.looseObject({ Kind: z.string() }),
});
export type MigrationRequest = z.input<typeof migrationRequestSchema>;

export interface MigrationResponse {
  PhysicalResourceId: string;
  Data?: Record<string, string>;
}

export interface MigrationDeps {
  /** Opens the database as its admin; called only when there is work to do. */
  openWarehouse(): Promise<Warehouse>;
  /** Writes an object to the staging bucket. */
  putStagingObject(key: string, body: string): Promise<void>;
  stagingBucket: string;
  /**
   * The runtime logins to create or update after the internal migrations, each from its own secret.
   * @default - none
   */
  loginSecrets?(): Promise<LoginSpec[]>;
  log(message: string, details?: Record<string, unknown>): void;
}

export const INTERNAL_SCHEMA_ID = 'sluice-internal-schema';
export const pipelineResourceId = (pipeline: string) => `sluice-pipeline-${pipeline}`;

/** Handles one custom resource request; the pure core of the handler. */
export async function handleMigrationRequest(
  rawRequest: unknown,
  deps: MigrationDeps,
): Promise<MigrationResponse> {
  const request = migrationRequestSchema.parse(rawRequest);
  if (request.RequestType === 'Delete') {
    // Keep the schema, the tables and their data, and the published specs: a stack delete or a
    // renamed pipeline must never lose loaded data.
    deps.log('delete: nothing is dropped', { physicalResourceId: request.PhysicalResourceId });
    return { PhysicalResourceId: request.PhysicalResourceId ?? INTERNAL_SCHEMA_ID };
  }
  const props = propertiesSchema.parse(request.ResourceProperties);
  if (props.Kind === 'internal-schema') {
    // The internal migrations create the database roles (loader, reader, auditor) and their grants too.
    const logins = (await deps.loginSecrets?.()) ?? [];
    const { applied, ensured } = await withWarehouse(deps, async (wh) => ({
      applied: await ensureInternalSchema(wh),
      // After the groups exist; sets each login's password to its secret's current value.
      ensured: await ensureLogins(wh, logins),
    }));
    deps.log('internal schema up to date', { applied, logins: ensured });
    return { PhysicalResourceId: INTERNAL_SCHEMA_ID, Data: { Applied: applied.join(',') } };
  }

  const { spec, contentHash } = parsePublishedSpec(props.Spec, `${props.Pipeline} (CloudFormation)`);
  if (spec.name !== props.Pipeline) {
    throw new Error(`the spec is named "${spec.name}" but the resource is for pipeline "${props.Pipeline}"`);
  }
  // Content-addressed and written before the state machine changes, so no run in flight ever sees
  // its spec change: a run keeps the location it started with.
  const key = `specs/${spec.name}/${contentHash}.json`;
  await deps.putStagingObject(key, JSON.stringify(spec));
  const table = await withWarehouse(deps, async (wh) => {
    await ensureInternalSchema(wh);
    const ensured = await ensureTargetTable(wh, spec.destination, {
      pipeline: spec.name,
      version: spec.version,
      hash: contentHash,
    });
    // Runs log in as the loader: it must own the table to partition, migrate and prune it.
    await handTargetToLoader(wh, spec.destination);
    return ensured;
  });
  deps.log('pipeline released', { pipeline: spec.name, specKey: key, table });
  return {
    PhysicalResourceId: pipelineResourceId(spec.name),
    Data: { SpecLocation: `s3://${deps.stagingBucket}/${key}`, SpecHash: contentHash },
  };
}

async function withWarehouse<T>(deps: MigrationDeps, work: (wh: Warehouse) => Promise<T>): Promise<T> {
  const wh = await deps.openWarehouse();
  try {
    return await work(wh);
  } finally {
    await wh.close();
  }
}

/**
 * Waits for the database to accept connections: on a first deploy the writer can be "available" to
 * CloudFormation a little before it answers, and a paused Serverless v2 cluster takes seconds to resume.
 */
export async function connectWithRetry(
  open: () => Promise<Warehouse>,
  options: { attempts?: number; firstDelayMs?: number; sleep?: (ms: number) => Promise<void> } = {},
): Promise<Warehouse> {
  const attempts = options.attempts ?? 8;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let delay = options.firstDelayMs ?? 2000;
  for (let attempt = 1; ; attempt++) {
    let wh: Warehouse | undefined;
    try {
      wh = await open();
      await wh.query('SELECT 1');
      return wh;
    } catch (err) {
      await wh?.close().catch(() => undefined);
      if (attempt >= attempts) throw err;
      logger.warn('database not reachable yet, retrying', {
        attempt,
        error: err instanceof Error ? err.message : String(err),
      });
      await sleep(delay);
      delay = Math.min(delay * 2, 30_000);
    }
  }
}

const envSchema = z.object({
  SLUICE_DATABASE_SECRET_ARN: z
    .string()
    .startsWith('arn:', 'SLUICE_DATABASE_SECRET_ARN must be the ARN of the admin secret'),
  SLUICE_STAGING_BUCKET: z.string().min(3, 'SLUICE_STAGING_BUCKET must name the staging bucket'),
  /** `{"loader":"arn:…","reader":"arn:…","auditor":"arn:…"}`: the runtime logins' secrets. */
  SLUICE_LOGIN_SECRET_ARNS: z.string().optional(),
});

const loginSecretArnsSchema = z.partialRecord(
  z.enum(['loader', 'reader', 'auditor']),
  z.string().startsWith('arn:'),
);
const loginSecretSchema = z.object({ username: z.string().min(1), password: z.string().min(1) });

const adminSecretSchema = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().positive().default(5432),
  username: z.string().min(1),
  password: z.string().min(1),
  dbname: z.string().min(1).default('sluice'),
});

let deps: MigrationDeps | undefined;

function coldStartDeps(): MigrationDeps {
  if (deps) return deps;
  const env = envSchema.parse(process.env);
  const secrets = tracer.captureAWSv3Client(new SecretsManagerClient({}));
  const s3 = tracer.captureAWSv3Client(new S3Client({}));
  deps = {
    stagingBucket: env.SLUICE_STAGING_BUCKET,
    async openWarehouse() {
      const out = await secrets.send(new GetSecretValueCommand({ SecretId: env.SLUICE_DATABASE_SECRET_ARN }));
      const secret = parseSecretJson(
        env.SLUICE_DATABASE_SECRET_ARN,
        out.SecretString ?? '{}',
        adminSecretSchema,
        'an RDS admin secret: JSON { "host", "username", "password", optional "port", "dbname" }',
      );
      // Straight to the cluster endpoint (DDL gains nothing from the proxy); TLS verified against the
      // RDS certificate authorities Lambda ships (NODE_EXTRA_CA_CERTS).
      return connectWithRetry(
        async () =>
          new PgWarehouse({
            host: secret.host,
            port: secret.port,
            user: secret.username,
            password: secret.password,
            database: secret.dbname,
            ssl: { rejectUnauthorized: true },
            max: 1,
          }),
      );
    },
    async loginSecrets() {
      if (!env.SLUICE_LOGIN_SECRET_ARNS) return [];
      const arns = loginSecretArnsSchema.parse(JSON.parse(env.SLUICE_LOGIN_SECRET_ARNS));
      const logins: LoginSpec[] = [];
      for (const [group, arn] of Object.entries(arns) as [LoginGroup, string][]) {
        const out = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
        const secret = parseSecretJson(
          arn,
          out.SecretString ?? '{}',
          loginSecretSchema,
          'a database login secret: JSON { "username", "password", … }',
        );
        logins.push({ group, username: secret.username, password: secret.password });
      }
      return logins;
    },
    async putStagingObject(key, body) {
      await s3.send(
        new PutObjectCommand({
          Bucket: env.SLUICE_STAGING_BUCKET,
          Key: key,
          Body: body,
          ContentType: 'application/json',
        }),
      );
    },
    log: (message, details) => logger.info(message, details ?? {}),
  };
  return deps;
}

export const handler = makeHandler((event: unknown) => handleMigrationRequest(event, coldStartDeps()), {
  metrics: false,
});
