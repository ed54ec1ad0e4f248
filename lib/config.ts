import * as z from 'zod';
import { FARGATE_CPU_VALUES, fargateSizeProblem } from './fargate-sizes.js';

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

const cidr = z
  .string()
  .regex(/^(\d{1,3}\.){3}\d{1,3}\/(\d|[12]\d|3[0-2])$/, 'must be an IPv4 CIDR such as 10.20.0.0/16');

/** Where the sources' databases are: egress to their ports is allowed to these CIDRs only. */
const sourceCidrs = z.array(cidr).min(1).default(['0.0.0.0/0']);

/**
 * `none`: isolated subnets only (S3 and AWS APIs through VPC endpoints); `nat`: NAT gateways in public
 * subnets route the functions' and workers' subnets out; `existing-vpc`: deploy into a VPC you already
 * have (peering, Direct Connect, Transit Gateway to your databases), named by id: read offline from
 * this config (Vpc.fromVpcAttributes), never looked up.
 */
const egressSchema = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('none') }),
  z.strictObject({
    mode: z.literal('nat'),
    /** NAT gateways (one per AZ is resilient; one is enough for dev, where an AZ outage may stop runs). */
    natGateways: z.number().int().min(1).max(2).default(1),
    sourceCidrs,
  }),
  z
    .strictObject({
      mode: z.literal('existing-vpc'),
      vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id such as vpc-0123456789abcdef0'),
      vpcCidrBlock: cidr,
      /** The AZs of `privateSubnetIds`, in the same order (two, for Aurora). */
      availabilityZones: z.array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/)).min(2),
      /** Private subnets with a route to the sources, one per AZ; everything Sluice runs goes there. */
      privateSubnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/)).min(2),
      /** Their route tables, in the same order (the S3 gateway endpoint adds a route to each). */
      routeTableIds: z.array(z.string().regex(/^rtb-[0-9a-f]{8,17}$/)).min(2),
      sourceCidrs,
    })
    .refine(
      (e) =>
        e.privateSubnetIds.length === e.availabilityZones.length &&
        e.routeTableIds.length === e.privateSubnetIds.length,
      {
        message: 'give one private subnet and one route table per availability zone, in the same order',
        path: ['privateSubnetIds'],
      },
    ),
]);

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
      /** How functions and worker tasks reach sources outside AWS (docs/deploy.md, "Network for sources"). */
      egress: egressSchema.default({ mode: 'none' }),
    })
    .default({ endpointsInEveryAz: true, egress: { mode: 'none' } }),
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
      /** Fargate task size of the chunk worker, for chunks too big for Lambda (CPU units, 1024 = 1 vCPU). */
      cpu: z
        .number()
        .refine((cpu) => FARGATE_CPU_VALUES.includes(cpu), {
          message: `must be a Fargate CPU value: ${FARGATE_CPU_VALUES.join(', ')}`,
        })
        .default(2048),
      /** Must be a size Fargate offers with `cpu` (checked at synth, not at deploy). */
      memoryMiB: z.number().int().default(8192),
    })
    .superRefine((w, ctx) => {
      const problem = FARGATE_CPU_VALUES.includes(w.cpu) ? fargateSizeProblem(w.cpu, w.memoryMiB) : undefined;
      if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['memoryMiB'] });
    })
    .default({ cpu: 2048, memoryMiB: 8192 }),
  audit: z
    .strictObject({
      /**
       * Object Lock mode of the audit anchor bucket. COMPLIANCE: nobody, the root user included, can
       * delete an anchored head before its retention ends. GOVERNANCE: principals granted
       * s3:BypassGovernanceRetention can (a disposable stage that must be torn down).
       */
      anchorMode: z.enum(['COMPLIANCE', 'GOVERNANCE']).default('COMPLIANCE'),
      /** Days each anchored head stays locked (7 years by default, a common audit retention). */
      anchorRetentionDays: z.number().int().min(1).max(36500).default(2557),
    })
    .default({ anchorMode: 'COMPLIANCE', anchorRetentionDays: 2557 }),
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
export type EgressConfig = StageConfig['network']['egress'];
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
