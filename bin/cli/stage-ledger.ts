// `--stage` for the read commands: a deployed stage's ledger and audit log through the RDS Data API, its rejects and anchored audit heads in S3.
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { S3ObjectLockAuditAnchor } from '../../functions/adapters/audit-anchor/s3-object-lock.js';
import { dataApiReadSql } from '../../functions/adapters/rds-data/data-api-reader.js';
import { createS3Client, S3Storage } from '../../functions/adapters/storage/s3.js';
import type { AuditAnchor } from '../../functions/engine/ports/audit-anchor.js';
import type { Storage } from '../../functions/engine/ports/storage.js';
import type { Warehouse } from '../../functions/engine/ports/warehouse.js';
import { AUDIT_ANCHOR_PREFIX, platformStackName, STAGE_OUTPUTS } from '../../lib/naming.js';

/** The platform stack's outputs the read commands need (lib/platform-stack.ts emits them under these keys). */
export const STAGE_LEDGER_OUTPUTS = {
  cluster: STAGE_OUTPUTS.databaseClusterArn,
  readerSecret: STAGE_OUTPUTS.readerSecretArn,
  staging: STAGE_OUTPUTS.stagingBucketName,
} as const;
/** Outputs `audit verify --stage` needs: the audit log as the auditor login, and the anchored heads. */
export const STAGE_AUDIT_OUTPUTS = {
  cluster: STAGE_OUTPUTS.databaseClusterArn,
  auditorSecret: STAGE_OUTPUTS.auditorSecretArn,
  anchorBucket: STAGE_OUTPUTS.auditAnchorBucketName,
} as const;
/** Optional (stages deployed before it was output): without it, the name the CDK app gives the database. */
const DATABASE_NAME_OUTPUT = STAGE_OUTPUTS.databaseName;
const DEFAULT_DATABASE = 'sluice';

export interface StageLedger {
  sql: ReturnType<typeof dataApiReadSql>;
  staging: Storage;
  /** For messages: which stage, cluster and bucket. */
  description: string;
}

export class StageLedgerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StageLedgerError';
  }
}

type CfnSend = Pick<CloudFormationClient, 'send'>;

/**
 * The outputs of a stage's platform stack, failing with what to do when the stack or one of `required`
 * is missing. Credentials and region come from the usual AWS chain.
 */
async function stageOutputs(
  stage: string,
  cfn: CfnSend,
  required: readonly string[],
  purpose: string,
): Promise<{ get(key: string): string | undefined; need(key: string): string }> {
  const stackName = platformStackName(stage);
  const described = await cfn
    .send(new DescribeStacksCommand({ StackName: stackName }))
    .catch((err: unknown) => {
      const e = err as Error;
      if (/does not exist/i.test(e.message))
        throw new StageLedgerError(
          `no stage "${stage}": stack ${stackName} does not exist in this account and region`,
        );
      throw new StageLedgerError(
        `cannot read stack ${stackName} of stage "${stage}": ${e.name}: ${e.message}`,
      );
    });
  const outputs = new Map(
    (described.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
  );
  const missing = required.filter((k) => !outputs.get(k));
  if (missing.length)
    throw new StageLedgerError(
      `stage "${stage}" (stack ${stackName}) has no ${missing.join(', ')} output: deploy it with a Sluice whose cluster has ${purpose} (npx cdk deploy --all -c stage=${stage})`,
    );
  return { get: (key) => outputs.get(key) || undefined, need: (key) => outputs.get(key)! };
}

/** The AWS clients a stage read uses; tests pass mocks. */
export interface StageClients {
  cfn?: CfnSend;
  rds?: Pick<RDSDataClient, 'send'>;
  s3?: ReturnType<typeof createS3Client>;
}

/** The stage's outputs (every one of `required`, or a refusal naming them) and its Data API as `secretOutput`'s login. */
async function stageDataApi(
  stage: string,
  clients: StageClients,
  required: { cluster: string } & Record<string, string>,
  secretOutput: string,
  needs: string,
) {
  const outputs = await stageOutputs(
    stage,
    clients.cfn ?? new CloudFormationClient({}),
    Object.values(required),
    needs,
  );
  const resourceArn = outputs.need(required.cluster);
  const sql = dataApiReadSql({
    client: clients.rds ?? new RDSDataClient({}),
    resourceArn,
    secretArn: outputs.need(secretOutput),
    database: outputs.get(DATABASE_NAME_OUTPUT) ?? DEFAULT_DATABASE,
  });
  return { outputs, resourceArn, sql };
}

/**
 * Finds a stage from its CloudFormation outputs and reads its ledger as the reader login, over the Data
 * API (an AWS API call: no VPC access needed). Credentials and region come from the usual AWS chain.
 */
export async function openStageLedger(stage: string, clients: StageClients = {}): Promise<StageLedger> {
  const { outputs, resourceArn, sql } = await stageDataApi(
    stage,
    clients,
    STAGE_LEDGER_OUTPUTS,
    STAGE_LEDGER_OUTPUTS.readerSecret,
    'the Data API enabled and a reader login',
  );
  const bucket = outputs.need(STAGE_LEDGER_OUTPUTS.staging);
  return {
    sql,
    staging: new S3Storage({ client: clients.s3 ?? createS3Client(), bucket }),
    description: `ledger: stage ${stage} through the RDS Data API (${resourceArn}), rejects in s3://${bucket}/`,
  };
}

export interface StageAudit {
  /** The audit log as the auditor login, over the Data API (Warehouse-like `query`: rows and rowCount). */
  db: Pick<Warehouse, 'query'>;
  /** The stage's Object Lock bucket of anchored heads. */
  anchor: AuditAnchor;
  description: string;
}

/**
 * `audit verify --stage`: the stage's audit log read as the auditor login over the Data API, checked
 * against the heads anchored in its AuditAnchorBucketName (what `--database-url … --anchor-s3 …` did).
 */
export async function openStageAudit(stage: string, clients: StageClients = {}): Promise<StageAudit> {
  const { outputs, resourceArn, sql } = await stageDataApi(
    stage,
    clients,
    STAGE_AUDIT_OUTPUTS,
    STAGE_AUDIT_OUTPUTS.auditorSecret,
    'the Data API enabled, an auditor login and an audit anchor bucket',
  );
  const bucket = outputs.need(STAGE_AUDIT_OUTPUTS.anchorBucket);
  return {
    db: {
      query: async <T>(text: string, params?: unknown[]) => {
        const { rows } = await sql<T>(text, params ?? []);
        return { rows, rowCount: rows.length };
      },
    },
    anchor: new S3ObjectLockAuditAnchor({
      client: clients.s3 ?? createS3Client(),
      bucket,
      prefix: AUDIT_ANCHOR_PREFIX,
    }),
    description: `audit log: stage ${stage} through the RDS Data API (${resourceArn}) as the auditor login, anchors in s3://${bucket}/${AUDIT_ANCHOR_PREFIX}`,
  };
}
