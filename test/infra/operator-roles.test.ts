import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  resolveStageConfig,
  STAGES_CONTEXT_KEY,
  StageConfigError,
  stageConfigSchema,
} from '../../lib/config.js';
import { OperatorRoles } from '../../lib/constructs/operator-roles.js';
import { cdkJsonContext, examplePipelines, type SynthResult, synthSluice } from './support/synth.js';
import {
  actionsOf,
  resources,
  type Statement,
  statementsGranting,
  statementsOf,
} from './support/template.js';

/** Who may assume the operator role in the synthesized prod stage; its viewers keep the default. */
const ONCALL = ['arn:aws:iam::111122223333:role/oncall', '444455556666'];

/**
 * The prod stage with the example pipelines, synthesized once (nag packs on, as `cdk synth`), with
 * `access.operators` set in its stage config.
 */
let prod: SynthResult;
let viewer: Statement[];
let operator: Statement[];
/** The example pipelines' names: every one of them is the stage's, and the roles cover each. */
let examples: string[];

beforeAll(async () => {
  const stages = cdkJsonContext()[STAGES_CONTEXT_KEY] as Record<string, Record<string, unknown>>;
  const context = {
    [STAGES_CONTEXT_KEY]: { ...stages, prod: { ...stages.prod, access: { operators: ONCALL } } },
  };
  const specs = await examplePipelines();
  examples = specs.map((s) => s.spec.name).sort();
  prod = synthSluice({ stage: 'prod', specs, context });
  viewer = statementsOf(prod.template, roleIdNamed(prod.template, 'sluice-prod-viewer'));
  operator = statementsOf(prod.template, roleIdNamed(prod.template, 'sluice-prod-operator'));
});

function roleIdNamed(template: Template, name: string): string {
  const found = Object.entries(resources(template, 'AWS::IAM::Role')).filter(
    ([, r]) => r.Properties.RoleName === name,
  );
  if (found.length !== 1) throw new Error(`expected one role named ${name}, found ${found.length}`);
  return found[0]![0];
}

const json = (value: unknown) => JSON.stringify(value);
const resourcesOfStatements = (statements: Statement[]) =>
  statements.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource])).map(json);

const READ_RUNS = [
  'states:DescribeExecution',
  'states:DescribeMapRun',
  'states:DescribeStateMachine',
  'states:GetExecutionHistory',
  'states:ListExecutions',
  'states:ListMapRuns',
  'states:ListStateMachines',
];
const OPERATE_RUNS = ['states:StartExecution', 'states:StopExecution', 'states:RedriveExecution'];

describe('operator and viewer roles (prod)', () => {
  it('exist with fixed names, an hour per session, and their ARNs as outputs', () => {
    for (const name of ['sluice-prod-operator', 'sluice-prod-viewer']) {
      prod.template.hasResourceProperties('AWS::IAM::Role', { RoleName: name, MaxSessionDuration: 3600 });
    }
    prod.template.hasOutput('OperatorRoleArn', {});
    prod.template.hasOutput('ViewerRoleArn', {});
    const logicalId = (role: iam.IRole) => prod.platform.getLogicalId(role.node.defaultChild as iam.CfnRole);
    expect(logicalId(prod.platform.operatorRole)).toBe(roleIdNamed(prod.template, 'sluice-prod-operator'));
    expect(logicalId(prod.platform.viewerRole)).toBe(roleIdNamed(prod.template, 'sluice-prod-viewer'));
  });

  const trustOf = (name: string) =>
    json(
      resources(prod.template, 'AWS::IAM::Role')[roleIdNamed(prod.template, name)]!.Properties
        .AssumeRolePolicyDocument,
    );

  it('may be assumed by the deploying account by default, so its IAM policies decide who', () => {
    const trust = trustOf('sluice-prod-viewer');
    expect(trust).toContain('"Action":"sts:AssumeRole"');
    expect(trust).toContain('{"Ref":"AWS::AccountId"},":root"');
  });

  it('may be assumed by the principals the stage config names instead', () => {
    const trust = trustOf('sluice-prod-operator');
    expect(trust).toContain('"arn:aws:iam::111122223333:role/oncall"');
    expect(trust).toContain(':iam::444455556666:root');
    expect(trust).not.toContain('AWS::AccountId');
  });

  it('let the viewer read runs, but not start, stop or redrive them', () => {
    // s3:ListBucketVersions: the anchored audit heads, for sluice audit verify (audit-anchor.test.ts).
    expect(actionsOf(viewer)).toEqual(
      [
        ...READ_RUNS,
        's3:GetObject',
        's3:ListBucket',
        's3:ListBucketVersions',
        'kms:Decrypt',
        // --stage: the stack's outputs, then the ledger over the Data API as the reader (stage-read.test.ts).
        'cloudformation:DescribeStacks',
        'rds-data:ExecuteStatement',
        'secretsmanager:GetSecretValue',
      ].sort(),
    );
    for (const action of OPERATE_RUNS) expect(statementsGranting(viewer, action), action).toEqual([]);
  });

  it('let the operator read runs and start, stop and redrive the pipelines', () => {
    for (const action of [...READ_RUNS, ...OPERATE_RUNS])
      expect(statementsGranting(operator, action).length, action).toBeGreaterThan(0);
    expect(examples).toContain('orders');
    expect(resourcesOfStatements(statementsGranting(operator, 'states:StartExecution'))).toEqual(
      examples.map((name) => expect.stringContaining(`:stateMachine:sluice-prod-${name}"`)),
    );
    const stopAndRedrive = resourcesOfStatements(statementsGranting(operator, 'states:RedriveExecution'));
    expect(stopAndRedrive).toEqual(
      examples.map((name) => expect.stringContaining(`:execution:sluice-prod-${name}:*"`)),
    );
  });

  it("scope runs to the stage's state machines, their child executions and map runs", () => {
    const executions = resourcesOfStatements(statementsGranting(viewer, 'states:GetExecutionHistory'));
    for (const name of examples)
      for (const arn of [
        `:execution:sluice-prod-${name}:*`,
        `:execution:sluice-prod-${name}/LambdaChunks:*`,
        `:execution:sluice-prod-${name}/FargateChunks:*`,
      ])
        expect(
          executions.some((r) => r.includes(arn)),
          arn,
        ).toBe(true);
    const mapRuns = resourcesOfStatements(statementsGranting(viewer, 'states:DescribeMapRun'));
    expect(mapRuns).toHaveLength(2 * examples.length);
    for (const name of examples)
      for (const map of ['LambdaChunks', 'FargateChunks'])
        expect(
          mapRuns.filter((r) => r.includes(`:mapRun:sluice-prod-${name}/${map}:*"`)),
          `${name} ${map}`,
        ).toHaveLength(1);
    const wildcard = statementsGranting(viewer, 'states:ListStateMachines');
    expect(wildcard.map((s) => s.Resource)).toEqual(['*']);
    expect(actionsOf(wildcard)).toEqual(['states:ListStateMachines']);
  });

  it('read only the login secrets of --stage (stage-read.test.ts), and of staging only run summaries and rejects', () => {
    for (const statements of [viewer, operator]) {
      expect(json(statements)).not.toMatch(/specs\//);
      const secretActions = actionsOf(statements).filter((a) => a.startsWith('secretsmanager:'));
      expect(secretActions).toEqual(['secretsmanager:GetSecretValue']);
      const reads = resourcesOfStatements(statementsGranting(statements, 's3:GetObject'));
      expect(reads).toHaveLength(2);
      expect(reads.some((r) => r.includes('/runs/*/summary.json"'))).toBe(true);
      expect(reads.some((r) => r.includes('/runs/*/rejects/*"'))).toBe(true);
      const listing = statementsGranting(statements, 's3:ListBucket');
      expect(listing.map((s) => s.Condition)).toEqual([
        { StringLike: { 's3:prefix': ['runs/*/rejects/*'] } },
      ]);
      for (const action of ['s3:PutObject', 's3:DeleteObject'])
        expect(statementsGranting(statements, action)).toEqual([]);
    }
  });

  it('decrypt with the stage key only through S3 (staging) and Secrets Manager (the login secrets)', () => {
    const via = (service: string) => ({
      'Fn::Join': ['', [`${service}.`, { Ref: 'AWS::Region' }, '.amazonaws.com']],
    });
    for (const statements of [viewer, operator]) {
      const kmsStatements = statements.filter((s) => json(s.Action).includes('kms:'));
      expect(actionsOf(kmsStatements)).toEqual(['kms:Decrypt']);
      for (const s of kmsStatements)
        expect(s.Condition).toEqual({
          StringEquals: { 'kms:ViaService': [via('s3'), via('secretsmanager')] },
        });
    }
  });

  it('leave no cdk-nag finding unsuppressed', () => {
    const report = JSON.parse(
      readFileSync(join(prod.assembly.directory, 'validation-report.json'), 'utf8'),
    ) as { pluginReports: { violations: unknown[] }[] };
    expect(report.pluginReports.flatMap((p) => p.violations)).toEqual([]);
  });
});

describe('who may assume them', () => {
  it('defaults to nobody but the account itself in every stage config', () => {
    expect(stageConfigSchema.parse({}).access).toEqual({ operators: [], viewers: [] });
  });

  it('fails when a principal is neither an account id nor an IAM ARN', () => {
    const stages = { prod: { access: { operators: ['alice@example.com'] } } };
    expect(() => resolveStageConfig('prod', stages)).toThrow(StageConfigError);
    expect(() => resolveStageConfig('prod', stages)).toThrow(/sluice:stages\.prod\.access\.operators\.0/);
  });

  it('OperatorRoles: documented defaults (account root, generated names, one hour) and given principals', () => {
    const app = new App();
    const stack = new Stack(app, 'Probe');
    const props = {
      stateMachineNames: ['sluice-test-orders'],
      stagingBucket: new s3.Bucket(stack, 'Staging'),
      encryptionKey: new kms.Key(stack, 'Key'),
    };
    new OperatorRoles(stack, 'Defaults', props);
    new OperatorRoles(stack, 'Given', {
      ...props,
      operators: [new iam.ArnPrincipal('arn:aws:iam::111122223333:role/oncall')],
      viewers: [new iam.AccountPrincipal('444455556666')],
    });
    const roles = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Role'));
    expect(roles).toHaveLength(4);
    for (const role of roles) {
      expect(role.Properties.RoleName).toBeUndefined();
      expect(role.Properties.MaxSessionDuration).toBe(3600);
    }
    const trusts = roles.map((r) => json(r.Properties.AssumeRolePolicyDocument));
    expect(trusts.filter((t) => t.includes(':root"]]}'))).toHaveLength(3);
    expect(trusts.some((t) => t.includes('arn:aws:iam::111122223333:role/oncall'))).toBe(true);
    expect(trusts.some((t) => t.includes('444455556666'))).toBe(true);
  });
});
