import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerRunsCommands } from '../../../bin/cli/runs.js';
import { type ConsoleRuns, seedConsoleRuns } from '../../support/console-runs.js';
import { DataApiEmulator } from '../../support/data-api-emulator.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';

/**
 * `sluice runs --stage` reads the stage's run ledger (not Step Functions executions): the stack's outputs
 * from CloudFormation, every statement through the Data API (emulated on the real PostgreSQL). Its JSON
 * must equal the same command's over the database directly.
 */
const pg = warehouseTargets.find((t) => t.name === 'pg');
if (!pg) console.warn('[stage-cli] SKIPPING: needs the real PostgreSQL; with CI=true this fails instead.');

describe.skipIf(!pg)('sluice runs --stage over the RDS Data API', () => {
  let db: TestWarehouse;
  let runs: ConsoleRuns;
  let emulator: DataApiEmulator;
  const cfn = mockClient(CloudFormationClient);
  const rds = mockClient(RDSDataClient);
  const s3 = mockClient(S3Client);

  async function cli(args: string[]): Promise<string> {
    const program = new Command('sluice').exitOverride();
    registerRunsCommands(program);
    let out = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out += String(chunk);
      return true;
    });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await program.parseAsync(['node', 'sluice', ...args]);
    } finally {
      write.mockRestore();
      err.mockRestore();
    }
    return out;
  }

  beforeAll(async () => {
    db = await pg!.open();
    runs = await seedConsoleRuns({ warehouse: db.wh });
    emulator = new DataApiEmulator(db.url!);
    await emulator.connect();
    cfn.on(DescribeStacksCommand, { StackName: 'sluice-test' }).resolves({
      Stacks: [
        {
          StackName: 'sluice-test',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: 'DatabaseClusterArn', OutputValue: 'arn:aws:rds:eu-west-1:111122223333:cluster:c' },
            {
              OutputKey: 'DatabaseReaderSecretArn',
              OutputValue: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:r',
            },
            { OutputKey: 'StagingBucketName', OutputValue: 'staging-bucket' },
          ],
        },
      ],
    });
    rds.on(ExecuteStatementCommand).callsFake((input) => emulator.execute(input));
    s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: false });
  }, 120_000);
  afterAll(async () => {
    cfn.restore();
    rds.restore();
    s3.restore();
    await emulator?.end();
    await db?.dispose();
  });

  it("lists the stage's runs from its ledger, as the local command lists the same database", async () => {
    const staged = JSON.parse(await cli(['runs', 'orders', '--stage', 'test', '--json']));
    const local = JSON.parse(await cli(['runs', 'orders', '--json', '--database-url', db.url!]));
    expect(staged).toEqual(local);
    expect(staged.map((r: { runId: string }) => r.runId)).toEqual([runs.failed, runs.succeeded]);
    expect(rds.commandCalls(ExecuteStatementCommand)[0]!.args[0].input.secretArn).toBe(
      'arn:aws:secretsmanager:eu-west-1:111122223333:secret:r',
    );
  });

  it('shows one run of the stage in full, counts equal to the local read', async () => {
    const staged = JSON.parse(await cli(['runs', runs.succeeded, '--stage', 'test', '--json']));
    const local = JSON.parse(
      await cli(['runs', runs.succeeded, '--json', '--database-url', db.url!, '--home', runs.home]),
    );
    // Reject reasons come from the staging files: the stage's bucket (mocked empty here, so it also warns
    // that it holds fewer rejects than the ledger counts) vs the local folder.
    expect(staged.warnings.join('\n')).toContain('s3://staging-bucket/');
    // One slash between the bucket and the key: S3Storage's url already ends in one.
    expect(staged.rejectsLocation).toBe(`s3://staging-bucket/runs/${runs.succeeded}/rejects/`);
    expect(staged.warnings.join('\n')).toContain(`s3://staging-bucket/runs/${runs.succeeded}/rejects/ hold`);
    for (const d of [staged, local]) {
      delete d.topRejectReasons;
      delete d.rejectsLocation;
      delete d.warnings;
    }
    expect(staged).toEqual(local);
    expect(staged.run.counts).toMatchObject({ read: 4808, loaded: 4730, rejected: 18 });
  });
});
