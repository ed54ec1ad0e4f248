import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { openStageAudit, openStageLedger } from '../../../bin/cli/stage-ledger.js';
import { listRuns } from '../../../functions/engine/read-side/index.js';

const CLUSTER = 'arn:aws:rds:eu-west-1:111122223333:cluster:sluice-prod-warehouse';
const SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:sluice/prod/reader-AbCdEf';

describe('--stage: the ledger of a deployed stage', () => {
  const cfn = mockClient(CloudFormationClient);
  const rds = mockClient(RDSDataClient);
  afterEach(() => {
    cfn.reset();
    rds.reset();
  });
  const clients = () => ({
    cfn: new CloudFormationClient({ region: 'eu-west-1' }),
    rds: new RDSDataClient({ region: 'eu-west-1' }),
  });

  it("reads the stage's outputs and queries its cluster as the reader login", async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'sluice-prod' }).resolves({
      Stacks: [
        {
          StackName: 'sluice-prod',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: 'DatabaseClusterArn', OutputValue: CLUSTER },
            { OutputKey: 'DatabaseReaderSecretArn', OutputValue: SECRET },
            { OutputKey: 'StagingBucketName', OutputValue: 'sluice-prod-staging-abc' },
          ],
        },
      ],
    });
    rds.on(ExecuteStatementCommand).resolves({ columnMetadata: [], records: [] });

    const ledger = await openStageLedger('prod', clients());
    expect(await listRuns(ledger.sql, { pipeline: 'orders' })).toEqual([]);

    const input = rds.commandCalls(ExecuteStatementCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ resourceArn: CLUSTER, secretArn: SECRET, database: 'sluice' });
    expect(ledger.staging.url).toBe('s3://sluice-prod-staging-abc/');
    expect(ledger.description).toContain(CLUSTER);
  });

  it('fails naming the outputs a stage deployed without the Data API lacks', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'sluice-dev',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [{ OutputKey: 'StagingBucketName', OutputValue: 'b' }],
        },
      ],
    });
    await expect(openStageLedger('dev', clients())).rejects.toThrow(
      'stage "dev" (stack sluice-dev) has no DatabaseClusterArn, DatabaseReaderSecretArn output',
    );
  });

  it('fails saying the stage does not exist when its stack does not', async () => {
    cfn.on(DescribeStacksCommand).rejects(new Error('Stack with id sluice-nope does not exist'));
    await expect(openStageLedger('nope', clients())).rejects.toThrow(
      'no stage "nope": stack sluice-nope does not exist in this account and region',
    );
  });

  it('reads the audit log as the auditor login and the anchors from the stage anchor bucket', async () => {
    const AUDITOR = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:sluice/prod/auditor-AbCdEf';
    cfn.on(DescribeStacksCommand, { StackName: 'sluice-prod' }).resolves({
      Stacks: [
        {
          StackName: 'sluice-prod',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: 'DatabaseClusterArn', OutputValue: CLUSTER },
            { OutputKey: 'DatabaseName', OutputValue: 'warehouse' },
            { OutputKey: 'DatabaseReaderSecretArn', OutputValue: SECRET },
            { OutputKey: 'DatabaseAuditorSecretArn', OutputValue: AUDITOR },
            { OutputKey: 'AuditAnchorBucketName', OutputValue: 'sluice-prod-anchors' },
          ],
        },
      ],
    });
    rds
      .on(ExecuteStatementCommand)
      .resolves({ columnMetadata: [{ label: 'n' }], records: [[{ longValue: 3 }]] });

    const audit = await openStageAudit('prod', clients());
    expect(await audit.db.query('SELECT 3 AS n')).toEqual({ rows: [{ n: 3 }], rowCount: 1 });
    expect(rds.commandCalls(ExecuteStatementCommand)[0]!.args[0].input).toMatchObject({
      resourceArn: CLUSTER,
      secretArn: AUDITOR,
      database: 'warehouse',
    });
    expect(audit.anchor.describe('db')).toBe(
      's3://sluice-prod-anchors/audit-anchor/db/ (Object Lock COMPLIANCE)',
    );
  });

  it('fails naming the outputs audit verify --stage needs when the stack lacks them', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'sluice-dev',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [{ OutputKey: 'DatabaseClusterArn', OutputValue: CLUSTER }],
        },
      ],
    });
    await expect(openStageAudit('dev', clients())).rejects.toThrow(
      'stage "dev" (stack sluice-dev) has no DatabaseAuditorSecretArn, AuditAnchorBucketName output',
    );
  });
});
