import { randomBytes } from 'node:crypto';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ExecuteStatementCommand, RDSDataClient } from '@aws-sdk/client-rds-data';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerAuditCommand } from '../../../bin/cli/audit.js';
import { S3ObjectLockAuditAnchor } from '../../../functions/adapters/audit-anchor/s3-object-lock.js';
import { anchorAuditHead } from '../../../functions/engine/audit/anchor.js';
import { appendAudit } from '../../../functions/engine/audit/log.js';
import { ensureInternalSchema, roleNames } from '../../../functions/engine/load/index.js';
import { DataApiEmulator } from '../../support/data-api-emulator.js';
import { objectLockBucket } from '../../support/object-lock-bucket.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';

/**
 * `sluice audit verify --stage`: the stage's audit log read as the auditor login through the Data API
 * (emulated on the real PostgreSQL, logged in as an auditor login), its anchored heads from the stage's
 * AuditAnchorBucketName (an Object Lock bucket twin). One flag gives what `--database-url … --anchor-s3 …` gives.
 */
const pg = warehouseTargets.find((t) => t.name === 'pg');
if (!pg) console.warn('[stage-audit] SKIPPING: needs the real PostgreSQL; with CI=true this fails instead.');

const AUDITOR_SECRET = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:sluice/test/auditor-AbCdEf';
const ANCHORS = 'sluice-test-audit-anchor';

describe.skipIf(!pg)('sluice audit verify --stage over the RDS Data API', () => {
  let db: TestWarehouse;
  let emulator: DataApiEmulator;
  let bucket: ReturnType<typeof objectLockBucket>;
  const login = `sluice_auditor_login_${randomBytes(4).toString('hex')}`;
  const cfn = mockClient(CloudFormationClient);
  const rds = mockClient(RDSDataClient);
  const anchor = () =>
    new S3ObjectLockAuditAnchor({ client: new S3Client({ region: 'eu-west-1' }), bucket: ANCHORS });

  async function cli(args: string[]): Promise<{ out: string; exitCode: number | undefined }> {
    const program = new Command('sluice').exitOverride();
    registerAuditCommand(program);
    let out = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out += String(chunk);
      return true;
    });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const before = process.exitCode;
    try {
      await program.parseAsync(['node', 'sluice', ...args]);
      return { out, exitCode: process.exitCode === before ? undefined : Number(process.exitCode) };
    } finally {
      process.exitCode = before;
      write.mockRestore();
      err.mockRestore();
    }
  }

  const tz = process.env.TZ;
  beforeAll(async () => {
    // Not UTC: the Data API returns timestamptz as zone-less UTC text, which a Date would read as local
    // time, and every record's hash (which covers its time) would then fail.
    process.env.TZ = 'America/New_York';
    bucket = objectLockBucket(1000);
    db = await pg!.open();
    await ensureInternalSchema(db.wh);
    for (const pipeline of ['orders', 'customers']) {
      await appendAudit(db.wh, { kind: 'run.started', pipeline, detail: { note: 'first runs' } });
      await anchorAuditHead(db.wh, anchor());
    }
    // A run that committed after the last anchor: verify warns, it does not fail.
    await appendAudit(db.wh, { kind: 'run.started', pipeline: 'orders' });
    // The emulator logs in as an auditor login, as the stage's auditor secret would.
    await db.wh.query(`CREATE ROLE ${login} LOGIN IN ROLE ${roleNames().auditor}`);
    const url = new URL(db.url!);
    url.username = login;
    emulator = new DataApiEmulator(url.toString());
    await emulator.connect();
    cfn.on(DescribeStacksCommand, { StackName: 'sluice-test' }).resolves({
      Stacks: [
        {
          StackName: 'sluice-test',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: 'DatabaseClusterArn', OutputValue: 'arn:aws:rds:eu-west-1:111122223333:cluster:c' },
            { OutputKey: 'DatabaseName', OutputValue: new URL(db.url!).pathname.slice(1) },
            { OutputKey: 'DatabaseAuditorSecretArn', OutputValue: AUDITOR_SECRET },
            { OutputKey: 'AuditAnchorBucketName', OutputValue: ANCHORS },
          ],
        },
      ],
    });
    rds.on(ExecuteStatementCommand).callsFake((input) => emulator.execute(input));
  }, 120_000);
  afterAll(async () => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
    cfn.restore();
    rds.restore();
    bucket?.s3.restore();
    await emulator?.end();
    await db?.wh.query(`DROP ROLE IF EXISTS ${login}`).catch(() => undefined);
    await db?.dispose();
  });

  it("verifies the stage's chain against its anchor bucket, as the auditor login, like --database-url --anchor-s3", async () => {
    const staged = await cli(['audit', 'verify', '--stage', 'test', '--json']);
    expect(staged.exitCode).toBeUndefined();
    const result = JSON.parse(staged.out);
    const { rows } = await db.wh.query<{ n: number }>('SELECT count(*)::int AS n FROM sluice.audit_log');
    expect(result).toMatchObject({ ok: true, records: rows[0]!.n, problems: [] });
    expect(result.anchor).toMatchObject({ seq: rows[0]!.n - 1 });
    expect(result.anchor.where).toContain(`s3://${ANCHORS}/audit-anchor/`);
    expect(result.warnings.join('\n')).toContain('1 record(s) after the anchored head');
    const calls = rds.commandCalls(ExecuteStatementCommand).map((c) => c.args[0].input);
    expect(new Set(calls.map((c) => c.secretArn))).toEqual(new Set([AUDITOR_SECRET]));

    const local = await cli([
      'audit',
      'verify',
      '--json',
      '--database-url',
      db.url!,
      '--anchor-s3',
      `s3://${ANCHORS}/audit-anchor/`,
    ]);
    expect(JSON.parse(local.out)).toEqual(result);
  });

  it('exits 1 naming the record when the chain was changed', async () => {
    await db.wh.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(`UPDATE sluice.audit_log SET detail = '{"at":"changed"}' WHERE seq = 1`);
    });
    const { out, exitCode } = await cli(['audit', 'verify', '--stage', 'test']);
    expect(exitCode).toBe(1);
    expect(out).toContain('record 1: content changed');
    expect(out).toContain('audit chain BROKEN');
  });

  it('refuses --stage with --anchor-s3 or --database-url (one or the other, never a mix)', async () => {
    for (const extra of [
      ['--anchor-s3', 's3://b/audit-anchor/'],
      ['--database-url', 'postgres://x/y'],
    ]) {
      const error = await cli(['audit', 'verify', '--stage', 'test', ...extra]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CommanderError);
      expect((error as CommanderError).message).toMatch(/--stage .* cannot be used with/);
    }
  });
});
