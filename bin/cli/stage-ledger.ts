// `--stage` for the read commands: a deployed stage's ledger through the RDS Data API, its rejects in the staging bucket.
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { dataApiReadSql } from '../../functions/adapters/rds-data/data-api-reader.js';
import { createS3Client, S3Storage } from '../../functions/adapters/storage/s3.js';
import type { Storage } from '../../functions/engine/ports/storage.js';
import { platformStackName } from '../../lib/naming.js';

/** The platform stack's outputs the read commands need (the CDK app must export them). */
export const STAGE_LEDGER_OUTPUTS = {
  cluster: 'DatabaseClusterArn',
  readerSecret: 'DatabaseReaderSecretArn',
  staging: 'StagingBucketName',
} as const;
/** Optional output naming the database; without it, the name the CDK app gives it (lib/constructs/warehouse-database.ts). */
const DATABASE_NAME_OUTPUT = 'DatabaseName';
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

/**
 * Finds a stage from its CloudFormation outputs and reads its ledger as the reader login, over the Data
 * API (an AWS API call: no VPC access needed). Credentials and region come from the usual AWS chain.
 */
export async function openStageLedger(
  stage: string,
  clients: {
    cfn?: Pick<CloudFormationClient, 'send'>;
    rds?: Pick<RDSDataClient, 'send'>;
    s3?: ReturnType<typeof createS3Client>;
  } = {},
): Promise<StageLedger> {
  const cfn = clients.cfn ?? new CloudFormationClient({});
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
  const missing = Object.values(STAGE_LEDGER_OUTPUTS).filter((k) => !outputs.get(k));
  if (missing.length)
    throw new StageLedgerError(
      `stage "${stage}" (stack ${stackName}) has no ${missing.join(', ')} output: deploy it with a Sluice whose cluster has the Data API enabled and a reader login (npx cdk deploy --all -c stage=${stage})`,
    );
  const resourceArn = outputs.get(STAGE_LEDGER_OUTPUTS.cluster)!;
  const bucket = outputs.get(STAGE_LEDGER_OUTPUTS.staging)!;
  return {
    sql: dataApiReadSql({
      client: clients.rds ?? new RDSDataClient({}),
      resourceArn,
      secretArn: outputs.get(STAGE_LEDGER_OUTPUTS.readerSecret)!,
      database: outputs.get(DATABASE_NAME_OUTPUT) || DEFAULT_DATABASE,
    }),
    staging: new S3Storage({ client: clients.s3 ?? createS3Client(), bucket }),
    description: `ledger: stage ${stage} through the RDS Data API (${resourceArn}), rejects in s3://${bucket}/`,
  };
}
