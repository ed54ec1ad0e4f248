import { beforeAll, describe, expect, it } from 'vitest';
import { STAGE_AUDIT_OUTPUTS, STAGE_LEDGER_OUTPUTS } from '../../bin/cli/stage-ledger.js';
import { STAGE_OUTPUTS } from '../../lib/naming.js';
import { fixturePipelines, type SynthResult, synthSluice } from './support/synth.js';
import { resources, type Statement, statementsGranting, statementsOf } from './support/template.js';

/**
 * `--stage` reads (issue 16.5, 13.2): the platform stack outputs every key the CLI looks up, and the
 * operator and viewer roles may read exactly the login secrets those reads use, never the admin's or
 * the loader's.
 */
let prod: SynthResult;
beforeAll(async () => {
  prod = synthSluice({ stage: 'prod', specs: await fixturePipelines('manual') });
}, 300_000);

const outputs = () =>
  prod.template.toJSON().Outputs as Record<string, { Value: unknown; Description?: string }>;
const outputValue = (key: string) => JSON.stringify(outputs()[key]!.Value);

function roleId(name: string): string {
  const [id] = Object.entries(resources(prod.template, 'AWS::IAM::Role')).find(
    ([, r]) => r.Properties.RoleName === name,
  ) ?? [undefined];
  if (!id) throw new Error(`no role named ${name}`);
  return id;
}

const resourcesOf = (statements: Statement[]) =>
  statements
    .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]))
    .map((r) => JSON.stringify(r));

describe('the outputs --stage reads', () => {
  it('has every output key the CLI reads, the database name among them', () => {
    const keys = Object.keys(outputs());
    for (const key of [
      ...Object.values(STAGE_LEDGER_OUTPUTS),
      ...Object.values(STAGE_AUDIT_OUTPUTS),
      STAGE_OUTPUTS.databaseName,
    ])
      expect(keys).toContain(key);
    expect(outputs()[STAGE_OUTPUTS.databaseName]!.Value).toBe('sluice');
  });

  it('points the login outputs at the login secrets and the anchor output at the anchor bucket', () => {
    expect(outputValue(STAGE_OUTPUTS.readerSecretArn)).toContain('DatabaseReaderSecret');
    expect(outputValue(STAGE_OUTPUTS.auditorSecretArn)).toContain('DatabaseAuditorSecret');
    expect(outputValue(STAGE_OUTPUTS.loaderSecretArn)).toContain('DatabaseLoaderSecret');
    expect(outputValue(STAGE_OUTPUTS.auditAnchorBucketName)).toContain('AuditAnchor');
  });
});

describe('what the operator and viewer roles may read for --stage', () => {
  const roles = { operator: 'sluice-prod-operator', viewer: 'sluice-prod-viewer' } as const;
  const secretsReadBy = (role: string) =>
    resourcesOf(
      statementsGranting(statementsOf(prod.template, roleId(role)), 'secretsmanager:GetSecretValue'),
    );

  it('lets the viewer read the reader secret only, and the operator the reader and auditor secrets', () => {
    expect(secretsReadBy(roles.viewer)).toEqual([outputValue(STAGE_OUTPUTS.readerSecretArn)]);
    expect(secretsReadBy(roles.operator).sort()).toEqual(
      [outputValue(STAGE_OUTPUTS.readerSecretArn), outputValue(STAGE_OUTPUTS.auditorSecretArn)].sort(),
    );
  });

  it('never lets an operator or viewer read the admin or loader secret', () => {
    const forbidden = [outputValue('DatabaseAdminSecretArn'), outputValue(STAGE_OUTPUTS.loaderSecretArn)];
    for (const role of Object.values(roles)) {
      const read = secretsReadBy(role);
      for (const secret of forbidden) expect(read).not.toContain(secret);
      // No wildcard that would cover them either.
      expect(read.filter((r) => r.includes('*'))).toEqual([]);
      const all = statementsOf(prod.template, roleId(role));
      expect(statementsGranting(all, 'secretsmanager:DescribeSecret')).toEqual([]);
    }
  });

  it('grants ExecuteStatement on the cluster, DescribeStacks on the stage stack, Decrypt through S3 and Secrets Manager', () => {
    for (const role of Object.values(roles)) {
      const all = statementsOf(prod.template, roleId(role));
      expect(resourcesOf(statementsGranting(all, 'rds-data:ExecuteStatement'))).toEqual([
        outputValue(STAGE_OUTPUTS.databaseClusterArn),
      ]);
      expect(statementsGranting(all, 'rds-data:BatchExecuteStatement')).toEqual([]);
      const stacks = resourcesOf(statementsGranting(all, 'cloudformation:DescribeStacks'));
      expect(stacks).toHaveLength(1);
      expect(stacks[0]).toContain(':stack/sluice-prod/*');
      const decrypt = statementsGranting(all, 'kms:Decrypt');
      expect(decrypt).toHaveLength(1);
      const via = JSON.stringify(decrypt[0]!.Condition);
      expect(via).toContain('kms:ViaService');
      expect(via).toContain('secretsmanager.');
      expect(via).toContain('s3.');
    }
  });
});
