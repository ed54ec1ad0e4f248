import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { type PipelineSpec, pipelineSpecSchema } from '../../functions/engine/spec/schema.js';
import {
  DEFAULT_MAX_SLOT_LAG_BYTES,
  PipelineConfigError,
  replicationSlotMaxLagBytes,
} from '../../lib/constructs/pipeline.js';
import { formatBytes, PipelineMonitoring } from '../../lib/constructs/pipeline-monitoring.js';
import { REPO_ROOT } from './support/synth.js';
import { resources } from './support/template.js';

/**
 * The replication-slot alarms of a CDC pipeline (issue 17): the lag alarm at the spec's limit, the
 * alarm when runs stop measuring the slot, and nothing of the kind for other pipelines. The monitoring
 * construct is synthesized on its own, under the same three cdk-nag packs as the app (and cfn-lint),
 * with the stage's topic, queue and state machine imported: the whole app with a CDC spec synthesizes
 * once the postgres connector's config schema accepts `cdc`.
 */
function synthMonitoring(options: { maxLagBytes?: number; freshnessWindow?: Duration } = {}) {
  const outdir = mkdtempSync(join(tmpdir(), 'sluice-cdc-monitoring-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'Monitoring', { env: { account: '123456789012', region: 'eu-west-1' } });
  new PipelineMonitoring(stack, 'PipelineMonitoring', {
    pipeline: 'customers-cdc',
    dashboardName: 'sluice-prod-customers-cdc',
    stateMachine: sfn.StateMachine.fromStateMachineName(stack, 'Machine', 'sluice-prod-customers-cdc'),
    functions: {},
    triggerFailures: sqs.Queue.fromQueueArn(stack, 'Failures', 'arn:aws:sqs:eu-west-1:123456789012:f'),
    alarmTopic: sns.Topic.fromTopicArn(stack, 'Alarms', 'arn:aws:sns:eu-west-1:123456789012:alarms'),
    metricsNamespace: 'Sluice/prod',
    serviceName: 'sluice-customers-cdc',
    maxRejectRatio: 0.05,
    ...(options.freshnessWindow ? { freshnessWindow: options.freshnessWindow } : {}),
    ...(options.maxLagBytes ? { replicationSlotMaxLagBytes: options.maxLagBytes } : {}),
    description: ['# customers-cdc'],
  });
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app),
    new ServerlessChecks(app),
    new NIST80053R5Checks(app),
  );
  app.synth();
  return { template: Template.fromStack(stack), outdir };
}

const alarmsOf = (t: Template) =>
  Object.fromEntries(
    Object.entries(resources(t, 'AWS::CloudWatch::Alarm')).map(([id, r]) => [
      id.replace(/^PipelineMonitoring|[0-9A-F]{8}$/g, ''),
      r.Properties,
    ]),
  );

describe('replication slot alarms of a CDC pipeline', () => {
  it('alarm above the lag limit and when no run measured the slot for two schedule intervals', () => {
    const { template } = synthMonitoring({
      maxLagBytes: 512 * 1024 ** 2,
      freshnessWindow: Duration.hours(2),
    });
    const alarms = alarmsOf(template);

    expect(alarms.ReplicationSlotLag).toMatchObject({
      Namespace: 'Sluice/prod',
      MetricName: 'ReplicationSlotLagBytes',
      Dimensions: [
        { Name: 'pipeline', Value: 'customers-cdc' },
        { Name: 'service', Value: 'sluice-customers-cdc' },
      ],
      Statistic: 'Maximum',
      Threshold: 512 * 1024 ** 2,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'ignore',
      AlarmDescription: expect.stringContaining('replication slot is more than 512 MiB of WAL behind'),
    });
    expect(alarms.ReplicationSlotLagMissing).toMatchObject({
      MetricName: 'ReplicationSlotLagBytes',
      Statistic: 'SampleCount',
      Period: 7200,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmDescription: expect.stringContaining(
        "no run measured the source's replication slot in the last 2 hours",
      ),
    });
    for (const name of ['ReplicationSlotLag', 'ReplicationSlotLagMissing']) {
      expect(JSON.stringify(alarms[name]?.AlarmActions)).toContain(':alarms');
      expect(JSON.stringify(alarms[name]?.OKActions)).toContain(':alarms');
    }
    const dashboard = JSON.stringify(resources(template, 'AWS::CloudWatch::Dashboard'));
    expect(dashboard).toContain('Replication slot lag (bytes of WAL behind the source)');
    expect(dashboard).toContain('ReplicationSlotLagBytes');
  });

  it('alarm on the lag only, when the pipeline has no schedule to expect runs from', () => {
    const alarms = alarmsOf(synthMonitoring({ maxLagBytes: DEFAULT_MAX_SLOT_LAG_BYTES }).template);

    expect(alarms.ReplicationSlotLag).toMatchObject({ Threshold: 1024 ** 3 });
    expect(alarms.ReplicationSlotLagMissing).toBeUndefined();
  });

  it('are not made for a pipeline without a replication slot', () => {
    const { template } = synthMonitoring({ freshnessWindow: Duration.hours(2) });

    expect(Object.keys(alarmsOf(template)).filter((id) => id.startsWith('ReplicationSlot'))).toEqual([]);
    expect(JSON.stringify(resources(template, 'AWS::CloudWatch::Dashboard'))).not.toContain(
      'ReplicationSlotLagBytes',
    );
  });
});

const CFN_LINT = process.env.SLUICE_CFN_LINT ?? 'cfn-lint';
const cfnLint = spawnSync(CFN_LINT, ['--version'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!cfnLint && process.env.CI !== 'true')('replication slot alarms, cfn-lint', () => {
  it('finds nothing in the monitoring template of a CDC pipeline', () => {
    const { outdir } = synthMonitoring({ maxLagBytes: 1024 ** 3, freshnessWindow: Duration.days(2) });
    const templates = readdirSync(outdir)
      .filter((f) => f.endsWith('.template.json'))
      .map((f) => join(outdir, f));

    const run = spawnSync(
      CFN_LINT,
      ['--config-file', join(REPO_ROOT, '.cfnlintrc.yaml'), '--format', 'parseable', '--', ...templates],
      { encoding: 'utf8' },
    );

    expect(templates).toHaveLength(1);
    // Dashboards' Tags are a lag of cfn-lint's bundled schema (see cfn-lint.test.ts), not a finding.
    expect(run.stdout.split('\n').filter((l) => l && !/E3002:.*'Tags' was unexpected/.test(l))).toEqual([]);
  });
});

describe('the slot-lag limit of a spec (source.config.cdc.maxLagBytes)', () => {
  const spec = (connector: string, config: Record<string, unknown>): PipelineSpec =>
    pipelineSpecSchema.parse({
      name: 'customers-cdc',
      source: { connector, config },
      destination: {
        table: 'customers',
        columns: { id: { type: 'bigint', nullable: false } },
        key: ['id'],
        mode: 'upsert',
      },
    });

  it('is 1 GiB by default, and the number or size given', () => {
    expect(replicationSlotMaxLagBytes(spec('postgres', { cdc: {} }))).toBe(1024 ** 3);
    expect(replicationSlotMaxLagBytes(spec('postgres', { cdc: { slot: 's' } }))).toBe(1024 ** 3);
    expect(replicationSlotMaxLagBytes(spec('postgres', { cdc: { maxLagBytes: 5_000_000 } }))).toBe(5_000_000);
    expect(replicationSlotMaxLagBytes(spec('postgres', { cdc: { maxLagBytes: '256MiB' } }))).toBe(
      256 * 1024 ** 2,
    );
    expect(formatBytes(1024 ** 3)).toBe('1 GiB');
    expect(formatBytes(500_000_000)).toBe('476.8 MiB');
  });

  it('is undefined for a source without CDC', () => {
    expect(replicationSlotMaxLagBytes(spec('postgres', { table: 'customers' }))).toBeUndefined();
    expect(replicationSlotMaxLagBytes(spec('mysql', { cdc: {} }))).toBeUndefined();
  });

  it.each([
    [{ maxLagBytes: 0 }, '0'],
    [{ maxLagBytes: -5 }, '-5'],
    [{ maxLagBytes: 1.5 }, '1.5'],
    [{ maxLagBytes: '1 TB' }, '"1 TB"'],
    [{ maxLagBytes: 'lots' }, '"lots"'],
  ])('fails when maxLagBytes is %j, naming the setting and the value', (cdc, found) => {
    expect(() => replicationSlotMaxLagBytes(spec('postgres', { cdc }))).toThrow(
      new PipelineConfigError(
        'customers-cdc',
        `source.config.cdc.maxLagBytes must be a positive whole number of bytes or a size such as 1GiB or 500MB, found ${found}`,
      ),
    );
  });

  it.each([['yes'], [true], [null]])('fails when cdc is %j, not a map', (cdc) => {
    expect(() => replicationSlotMaxLagBytes(spec('postgres', { cdc }))).toThrow(
      `pipeline "customers-cdc": source.config.cdc must be a map ({ slot, publication, maxLagBytes }), found ${JSON.stringify(cdc)}`,
    );
  });
});
