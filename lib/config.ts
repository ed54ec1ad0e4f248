import * as z from 'zod';

/**
 * Configuration of one stage (dev, staging, prod), read from cdk.json context `sluice:stages` and
 * selected with `-c stage=<name>`. Everything a stage may change about the platform is here; the rest
 * is a secure default in the constructs.
 */

const removal = z.enum(['retain', 'destroy']);

/** An account id (its IAM policies decide who) or the ARN of an account root, an IAM role or user. */
const assumingPrincipal = z
  .string()
  .regex(
    /^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+))$/,
    'must be a 12-digit account id or an IAM role, user or account root ARN',
  );

export const stageConfigSchema = z.strictObject({
  database: z
    .strictObject({
      /** Aurora Serverless v2 capacity in ACUs. 0 lets the cluster pause when idle (PostgreSQL 16.3+). */
      minCapacity: z.number().min(0).max(256).default(0.5),
      maxCapacity: z.number().min(1).max(256).default(8),
      /** Serverless v2 readers besides the writer (a reader in a second AZ makes failover fast). */
      readers: z.number().int().min(0).max(15).default(0),
      backupRetentionDays: z.number().int().min(1).max(35).default(7),
      /** What `cdk destroy` (or removing the cluster) does: keep it, keep a final snapshot, or delete it. */
      removalPolicy: z.enum(['retain', 'snapshot', 'destroy']).default('snapshot'),
      /** Refuse to delete the cluster until this is turned off. */
      deletionProtection: z.boolean().default(true),
    })
    .refine((d) => d.minCapacity <= d.maxCapacity, {
      message: 'minCapacity must not exceed maxCapacity',
      path: ['minCapacity'],
    })
    .default({
      minCapacity: 0.5,
      maxCapacity: 8,
      readers: 0,
      backupRetentionDays: 7,
      removalPolicy: 'snapshot',
      deletionProtection: true,
    }),
  retention: z
    .strictObject({
      /** Days CloudWatch keeps function, state machine, flow and database logs. */
      logDays: z.number().int().positive().default(30),
      /** Days a run's staging files (chunks, manifests, rejects under `runs/`) are kept; a redrive needs them. */
      stagingDays: z.number().int().positive().default(14),
      /** Days S3 server access logs of the staging bucket are kept. */
      accessLogDays: z.number().int().positive().default(90),
    })
    .default({ logDays: 30, stagingDays: 14, accessLogDays: 90 }),
  removalPolicies: z
    .strictObject({
      /** The staging bucket and its access-log bucket (`destroy` fails while they hold objects). */
      buckets: removal.default('retain'),
      /** The customer-managed KMS key: destroying it makes every backup and snapshot it encrypted unreadable. */
      key: removal.default('retain'),
    })
    .default({ buckets: 'retain', key: 'retain' }),
  alarms: z
    .strictObject({
      /** E-mail addresses subscribed to the alarm topic (each must confirm the subscription). */
      emails: z.array(z.email()).default([]),
    })
    .default({ emails: [] }),
  network: z
    .strictObject({
      /** Interface endpoints in one AZ (cheaper, a single point of failure) or in every AZ. */
      endpointsInEveryAz: z.boolean().default(true),
    })
    .default({ endpointsInEveryAz: true }),
  functions: z
    .strictObject({
      logLevel: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
      /**
       * Reserve Lambda concurrency so chunk loads cannot exhaust database connections. New accounts
       * start with a concurrency quota of 10, where any reservation fails the deploy: turn it off there.
       */
      reserveConcurrency: z.boolean().default(true),
    })
    .default({ logLevel: 'INFO', reserveConcurrency: true }),
  worker: z
    .strictObject({
      /** Fargate task size of the chunk worker, for chunks too big for Lambda. */
      cpu: z
        .union([z.literal(1024), z.literal(2048), z.literal(4096), z.literal(8192), z.literal(16384)])
        .default(2048),
      memoryMiB: z.number().int().min(2048).max(122880).default(8192),
    })
    .default({ cpu: 2048, memoryMiB: 8192 }),
  access: z
    .strictObject({
      /** Who may assume `sluice-<stage>-operator` (start, stop, redrive and read runs). Empty: the deploying account. */
      operators: z.array(assumingPrincipal).default([]),
      /** Who may assume `sluice-<stage>-viewer` (read runs). Empty: the deploying account. */
      viewers: z.array(assumingPrincipal).default([]),
    })
    .default({ operators: [], viewers: [] }),
});

export type StageConfig = z.infer<typeof stageConfigSchema>;
export type StageConfigInput = z.input<typeof stageConfigSchema>;

export const stageNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9]{1,11}$/, 'must be a short lower-case name such as dev, staging or prod');

/** The context key in cdk.json that holds every stage's configuration. */
export const STAGES_CONTEXT_KEY = 'sluice:stages';

export class StageConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StageConfigError';
  }
}

/**
 * Validates the configuration of `stage` from the `sluice:stages` context; the error names each field
 * that is wrong and what was found, and lists the stages that exist when the name is unknown.
 */
export function resolveStageConfig(stage: unknown, stages: unknown): { stage: string; config: StageConfig } {
  const name = stageNameSchema.safeParse(stage);
  if (!name.success) {
    throw new StageConfigError(
      `-c stage=${String(stage)}: ${name.error.issues[0]?.message ?? 'invalid stage name'}`,
    );
  }
  const all = z.record(z.string(), z.unknown()).safeParse(stages ?? {});
  const known = all.success ? Object.keys(all.data) : [];
  const raw = all.success ? all.data[name.data] : undefined;
  if (raw === undefined) {
    throw new StageConfigError(
      `no configuration for stage "${name.data}" in cdk.json context "${STAGES_CONTEXT_KEY}" (found: ${known.join(', ') || 'none'})`,
    );
  }
  const parsed = stageConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `${STAGES_CONTEXT_KEY}.${name.data}.${i.path.join('.')}: ${i.message}`,
    );
    throw new StageConfigError(`invalid configuration of stage "${name.data}":\n  ${lines.join('\n  ')}`);
  }
  return { stage: name.data, config: parsed.data };
}
