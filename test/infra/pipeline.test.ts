import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ASL_FILE, readAsl, substitute, substitutionKeys } from '../../functions/local/asl.js';
import { resolveStageConfig, STAGES_CONTEXT_KEY } from '../../lib/config.js';
import { buildSluiceApp } from '../../lib/sluice-app.js';
import { cloudFormationSubstitute, resolveIntrinsics } from './support/intrinsics.js';
import {
  cdkJsonContext,
  examplePipelines,
  fixturePipelines,
  type SynthResult,
  synthSluice,
} from './support/synth.js';
import {
  actionsOf,
  resourceNamed,
  resources,
  roleOf,
  type Statement,
  statementsGranting,
  statementsOf,
} from './support/template.js';

let prod: SynthResult;
let orders: Template;
let payments: Template;
let manual: Template;

beforeAll(async () => {
  prod = synthSluice({
    stage: 'prod',
    specs: [...(await examplePipelines()), ...(await fixturePipelines('payments', 'manual'))],
  });
  orders = prod.pipelines.orders!;
  payments = prod.pipelines.payments!;
  manual = prod.pipelines.manual!;
});

const fn = (t: Template, name: string) =>
  resourceNamed(t, 'AWS::Lambda::Function', `Pipeline${name}Function`)[1];
const roleStatements = (t: Template, name: string) => statementsOf(t, roleOf(fn(t, name)));
const json = (v: unknown) => JSON.stringify(v);

describe('state machine', () => {
  it('is one per pipeline, named sluice-<stage>-<pipeline>', async () => {
    const examples = (await examplePipelines()).map((s) => s.spec.name);
    expect(examples).toEqual(expect.arrayContaining(['customers-pg', 'orders']));
    expect(Object.keys(prod.pipelines).sort()).toEqual([...examples, 'manual', 'payments'].sort());
    for (const [name, t] of Object.entries(prod.pipelines)) {
      t.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
      t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineName: `sluice-prod-${name}`,
        StateMachineType: 'STANDARD',
      });
    }
  });

  it('uses statemachines/pipeline.asl.json as a file asset with every substitution it needs', () => {
    const [, sm] = resourceNamed(orders, 'AWS::StepFunctions::StateMachine', 'PipelineStateMachine');
    expect(sm.Properties.DefinitionS3Location).toBeDefined();
    expect(sm.Properties.Definition).toBeUndefined();
    expect(sm.Properties.DefinitionString).toBeUndefined();
    const keys = Object.keys(sm.Properties.DefinitionSubstitutions as object).sort();
    expect(keys).toEqual(substitutionKeys(readFileSync(ASL_FILE, 'utf8')).sort());
  });

  it('runs the spec the release published, Fargate chunks on the worker family, in the private subnets', () => {
    const [releaseId] = resourceNamed(orders, 'Custom::SluicePipelineRelease', 'PipelineRelease');
    orders.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionSubstitutions: {
        PipelineName: 'orders',
        SpecLocation: { 'Fn::GetAtt': [releaseId, 'SpecLocation'] },
        WorkerTaskDefinitionArn: 'sluice-prod-orders-worker',
        WorkerContainerName: 'chunk-worker',
        WorkerSubnetIds: { 'Fn::Join': [',', [Match.anyValue(), Match.anyValue()]] },
      },
    });
  });

  it('logs everything except execution data, and traces with X-Ray', () => {
    for (const t of Object.values(prod.pipelines)) {
      t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
        TracingConfiguration: { Enabled: true },
      });
      t.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: Match.stringLikeRegexp('^/aws/vendedlogs/states/sluice-prod-'),
      });
    }
  });

  it('changes only after the worker task definition exists', () => {
    const [, sm] = resourceNamed(orders, 'AWS::StepFunctions::StateMachine', 'PipelineStateMachine');
    expect(json(sm.DependsOn)).toContain('PipelineWorkerTaskDefinition');
  });
});

describe('state machine role', () => {
  let statements: Statement[];
  beforeAll(() => {
    const [, sm] = resourceNamed(orders, 'AWS::StepFunctions::StateMachine', 'PipelineStateMachine');
    statements = statementsOf(orders, roleOf(sm, 'RoleArn'));
  });

  it('invokes exactly the four step functions', () => {
    const [invoke] = statementsGranting(statements, 'lambda:InvokeFunction');
    const ids = ['Prepare', 'ProcessChunks', 'Commit', 'Fail'].map(
      (n) => resourceNamed(orders, 'AWS::Lambda::Function', `Pipeline${n}Function`)[0],
    );
    expect(invoke?.Resource).toEqual(
      expect.arrayContaining(ids.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] }))),
    );
    expect(invoke?.Resource).toHaveLength(4);
  });

  it('starts its own child executions (Distributed Map) and redrives its map runs', () => {
    expect(json(statementsGranting(statements, 'states:StartExecution'))).toContain(
      ':stateMachine:sluice-prod-orders"',
    );
    expect(json(statementsGranting(statements, 'states:DescribeExecution'))).toContain(
      ':execution:sluice-prod-orders:*',
    );
    const redrive = json(statementsGranting(statements, 'states:RedriveExecution'));
    expect(redrive).toContain('sluice-prod-orders/LambdaChunks:*');
    expect(redrive).toContain('sluice-prod-orders/FargateChunks:*');
  });

  it('reads the manifests in staging', () => {
    expect(json(statementsGranting(statements, 's3:GetObject'))).toContain('/runs/*');
  });

  it('runs, watches and stops worker tasks in the stage cluster and passes only the worker roles', () => {
    const [run] = statementsGranting(statements, 'ecs:RunTask');
    expect(json(run?.Resource)).toContain(':task-definition/sluice-prod-orders-worker:*');
    expect(Object.keys((run?.Condition?.ArnEquals ?? {}) as object)).toEqual(['ecs:cluster']);
    expect(json(statementsGranting(statements, 'ecs:DescribeTasks'))).toContain(':task/');
    const [pass] = statementsGranting(statements, 'iam:PassRole');
    expect(json(pass?.Resource)).toContain('PipelineWorkerTaskRole');
    expect(json(pass?.Resource)).toContain('PipelineWorkerExecutionRole');
    expect(pass?.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
    expect(json(statementsGranting(statements, 'events:PutTargets'))).toContain(
      'rule/StepFunctionsGetEventsForECSTaskRule',
    );
  });
});

describe('functions', () => {
  const handlers = ['Prepare', 'ProcessChunks', 'Commit', 'Fail'];

  it('are Node 22 on arm64, traced, JSON-logged to their own encrypted group, in the private subnets', () => {
    for (const t of Object.values(prod.pipelines)) {
      t.allResourcesProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON', LogGroup: Match.anyValue(), ApplicationLogLevel: 'INFO' },
        KmsKeyArn: Match.anyValue(),
        VpcConfig: { SubnetIds: Match.anyValue(), SecurityGroupIds: Match.anyValue() },
      });
    }
  });

  it('take memory and timeout from the spec and reserve the Map concurrency for chunk loads', () => {
    expect(fn(payments, 'ProcessChunks').Properties).toMatchObject({
      MemorySize: 2048,
      Timeout: 600,
      ReservedConcurrentExecutions: 16,
    });
    expect(fn(payments, 'Prepare').Properties).toMatchObject({
      MemorySize: 2048,
      Timeout: 600,
      ReservedConcurrentExecutions: 2,
    });
    expect(fn(orders, 'ProcessChunks').Properties).toMatchObject({
      MemorySize: 1024,
      Timeout: 900,
      ReservedConcurrentExecutions: 4,
    });
  });

  it('get the handler environment, with Powertools service name, log level and metrics namespace', () => {
    for (const name of handlers) {
      expect(
        Object.keys((fn(orders, name).Properties.Environment as { Variables: object }).Variables).sort(),
      ).toEqual([
        'NODE_EXTRA_CA_CERTS',
        'NODE_OPTIONS',
        'POWERTOOLS_LOG_LEVEL',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
        'SLUICE_DATABASE_HOST',
        'SLUICE_DATABASE_SECRET_ARN',
        'SLUICE_EVENT_BUS_NAME',
        'SLUICE_SECRET_PREFIX',
        'SLUICE_STAGING_BUCKET',
      ]);
    }
    expect(fn(orders, 'Commit').Properties.Environment).toMatchObject({
      Variables: {
        POWERTOOLS_SERVICE_NAME: 'sluice-orders',
        POWERTOOLS_METRICS_NAMESPACE: 'Sluice/prod',
        SLUICE_SECRET_PREFIX: 'sluice/prod/',
      },
    });
  });

  it('grant only what each function calls: events only to commit and fail', () => {
    for (const t of [orders, payments]) {
      expect(statementsGranting(roleStatements(t, 'Commit'), 'events:PutEvents')).toHaveLength(1);
      expect(statementsGranting(roleStatements(t, 'Fail'), 'events:PutEvents')).toHaveLength(1);
      expect(statementsGranting(roleStatements(t, 'Prepare'), 'events:PutEvents')).toHaveLength(0);
      expect(statementsGranting(roleStatements(t, 'ProcessChunks'), 'events:PutEvents')).toHaveLength(0);
    }
  });

  it("read the pipeline's own credential secrets only where the source or the transforms run", () => {
    const secretsOf = (name: string) =>
      json(statementsGranting(roleStatements(payments, name), 'secretsmanager:GetSecretValue'));
    expect(secretsOf('Prepare')).toContain('secret:sluice/prod/processor-api-token-??????');
    expect(secretsOf('Prepare')).not.toContain('card-hash-key');
    expect(secretsOf('ProcessChunks')).toContain('secret:sluice/prod/processor-api-token-??????');
    expect(secretsOf('ProcessChunks')).toContain('secret:sluice/prod/card-hash-key-??????');
    expect(secretsOf('Commit')).not.toContain('processor-api-token');
    const [, task] = resourceNamed(payments, 'AWS::ECS::TaskDefinition', 'PipelineWorkerTaskDefinition');
    const worker = json(
      statementsGranting(
        statementsOf(payments, roleOf(task, 'TaskRoleArn')),
        'secretsmanager:GetSecretValue',
      ),
    );
    expect(worker).toContain('card-hash-key');
    // Another pipeline's secrets never appear.
    expect(json(resources(orders, 'AWS::IAM::ManagedPolicy'))).not.toContain('processor-api-token');
  });

  it('read an s3:// source under its prefix, and a folder source from the landing bucket', () => {
    const paymentsRead = json(statementsGranting(roleStatements(payments, 'ProcessChunks'), 's3:GetObject'));
    expect(paymentsRead).toContain('s3:::acme-processor-drops/payments/*');
    const [list] = statementsGranting(roleStatements(payments, 'Prepare'), 's3:ListBucket').filter((s) =>
      json(s).includes('acme'),
    );
    expect(list?.Condition).toEqual({ StringLike: { 's3:prefix': ['payments/*'] } });
    expect(json(statementsGranting(roleStatements(orders, 'Prepare'), 's3:GetObject'))).toContain(
      '/data/orders/*',
    );
    expect(json(statementsGranting(roleStatements(orders, 'Commit'), 's3:GetObject'))).not.toContain(
      '/data/orders/*',
    );
  });

  it('use no wildcard actions and no AWS-managed or inline policies', () => {
    for (const t of Object.values(prod.pipelines)) {
      t.resourceCountIs('AWS::IAM::Policy', 0);
      for (const role of Object.values(resources(t, 'AWS::IAM::Role'))) {
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
        expect(role.Properties.Policies).toBeUndefined();
      }
      for (const [id] of Object.entries(resources(t, 'AWS::IAM::Role'))) {
        expect(
          actionsOf(statementsOf(t, id)).filter((a) => a.includes('*')),
          id,
        ).toEqual([]);
      }
    }
  });
});

describe('spec publication', () => {
  it('ships the validated spec (defaults applied) through the release custom resource', () => {
    const [, release] = resourceNamed(payments, 'Custom::SluicePipelineRelease', 'PipelineRelease');
    const spec = JSON.parse(release.Properties.Spec as string);
    expect(spec).toMatchObject({
      name: 'payments',
      version: 3,
      runtime: { concurrency: 16 },
      chunking: { chunksPerBatch: 1 },
    });
    expect(spec.source.config.location).toBe('s3://acme-processor-drops/payments/');
  });

  it('moves a folder source location to the landing bucket', () => {
    const [, release] = resourceNamed(orders, 'Custom::SluicePipelineRelease', 'PipelineRelease');
    const spec = json(release.Properties.Spec);
    expect(spec).toContain('s3://');
    expect(spec).toContain('/data/orders/');
    expect(spec).not.toContain('"location":"data/orders"');
  });
});

describe('triggers', () => {
  it('schedules a run with EventBridge Scheduler as the spec says', () => {
    orders.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 2 * * ? *)',
      State: 'ENABLED',
      Target: {
        Input: json({ trigger: { type: 'schedule' } }),
        RetryPolicy: { MaximumRetryAttempts: 3 },
        DeadLetterConfig: { Arn: Match.anyValue() },
      },
    });
    payments.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(1 hour)' });
    manual.resourceCountIs('AWS::Scheduler::Schedule', 0);
  });

  it('starts a run per object created under the trigger prefix (and suffix)', () => {
    payments.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: ['acme-processor-drops'] },
          object: { key: [{ wildcard: 'payments/*.jsonl.gz' }] },
        },
      },
      Targets: [Match.objectLike({ DeadLetterConfig: Match.anyValue(), RetryPolicy: Match.anyValue() })],
    });
    orders.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { detail: { object: { key: [{ wildcard: 'data/orders/*.csv' }] } } },
    });
    manual.resourceCountIs('AWS::Events::Rule', 0);
    expect(Object.keys(resources(manual, 'AWS::Lambda::Function'))).toHaveLength(4);
  });

  it('feeds a starter function that may only start this state machine', () => {
    const starter = fn(payments, 'StartRun');
    expect(Object.keys((starter.Properties.Environment as { Variables: object }).Variables)).toContain(
      'SLUICE_STATE_MACHINE_ARN',
    );
    const [smId] = resourceNamed(payments, 'AWS::StepFunctions::StateMachine', 'PipelineStateMachine');
    const statements = statementsOf(payments, roleOf(starter));
    expect(statementsGranting(statements, 'states:StartExecution').map((s) => s.Resource)).toEqual([
      { Ref: smId },
    ]);
    payments.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });
});

describe('alarms and dashboard', () => {
  const alarmNames = (t: Template) =>
    Object.keys(resources(t, 'AWS::CloudWatch::Alarm')).map((id) =>
      id.replace(/^PipelineMonitoring|[0-9A-F]{8}$/g, ''),
    );

  it('alarm on failed, timed-out and aborted runs, function errors and throttles, lost triggers, rejects and freshness', () => {
    expect(alarmNames(orders).sort()).toEqual(
      [
        'ExecutionsFailed',
        'ExecutionsTimedOut',
        'ExecutionsAborted',
        ...['Prepare', 'ProcessChunks', 'Commit', 'Fail', 'StartRun'].flatMap((f) => [
          `${f}Errors`,
          `${f}Throttles`,
        ]),
        'TriggerFailures',
        'RejectRatio',
        'Freshness',
      ].sort(),
    );
    for (const alarm of Object.values(resources(orders, 'AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toHaveLength(1);
      expect(json(alarm.Properties.AlarmActions)).toContain('referencetoSluiceprodAlarms');
    }
  });

  it('call data stale after two schedule intervals without a successful run', () => {
    orders.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsSucceeded',
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      Period: 86400,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
    });
    payments.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsSucceeded',
      Period: 7200,
      EvaluationPeriods: 1,
    });
    expect(alarmNames(manual)).not.toContain('Freshness');
  });

  it("warn at half the spec's reject limit", () => {
    orders.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'RejectRatio',
      Namespace: 'Sluice/prod',
      Dimensions: [
        { Name: 'pipeline', Value: 'orders' },
        { Name: 'service', Value: 'sluice-orders' },
      ],
      Threshold: 0.5,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('show each pipeline on its own dashboard', () => {
    for (const [name, t] of Object.entries(prod.pipelines)) {
      t.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `sluice-prod-${name}` });
    }
  });
});

describe('chunk worker task', () => {
  it('runs the container image on Fargate arm64 as the WorkerContainerName, read-only root, logs encrypted', () => {
    orders.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: 'sluice-prod-orders-worker',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      Cpu: '4096',
      Memory: '16384',
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'chunk-worker',
          Essential: true,
          ReadonlyRootFilesystem: true,
          MountPoints: [{ ContainerPath: '/tmp', SourceVolume: 'tmp', ReadOnly: false }],
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
        }),
      ],
    });
  });

  it('is built from container/Dockerfile for arm64 (staged at synth, built only by cdk deploy)', () => {
    const manifest = JSON.parse(readFileSync(`${prod.assembly.directory}/Sluice-prod.assets.json`, 'utf8'));
    const images = Object.values(manifest.dockerImages ?? {}) as {
      source: { directory: string; dockerFile: string; platform: string };
    }[];
    expect(images).toHaveLength(1);
    expect(images[0]?.source).toMatchObject({ dockerFile: 'container/Dockerfile', platform: 'linux/arm64' });
  });
});

describe('the definition in the template', () => {
  const aslValidator = createRequire(import.meta.url)('asl-validator') as (
    definition: unknown,
    options?: { checkPaths?: boolean; checkArn?: boolean },
  ) => { isValid: boolean; errors: unknown[] };

  /** What the template deploys: the staged asset file and the substitutions, resolved as a deploy would. */
  function deployed(t: Template): { asset: string; values: Record<string, string> } {
    const [, sm] = resourceNamed(t, 'AWS::StepFunctions::StateMachine', 'PipelineStateMachine');
    const key = (sm.Properties.DefinitionS3Location as { Key: string }).Key;
    const asset = readFileSync(join(prod.assembly.directory, `asset.${key}`), 'utf8');
    const values = Object.fromEntries(
      Object.entries(sm.Properties.DefinitionSubstitutions as Record<string, unknown>).map(([k, v]) => [
        k,
        resolveIntrinsics(v),
      ]),
    );
    return { asset, values };
  }

  it('is byte for byte statemachines/pipeline.asl.json', () => {
    for (const t of Object.values(prod.pipelines)) expect(deployed(t).asset).toBe(readAsl());
  });

  it('after substitution, is exactly what the local runner executes for the same values', () => {
    for (const t of Object.values(prod.pipelines)) {
      const { asset, values } = deployed(t);
      expect(cloudFormationSubstitute(asset, values)).toBe(substitute(readAsl(), values));
      expect(cloudFormationSubstitute(asset, values)).not.toMatch(/\$\{\w+\}/);
    }
  });

  it('gets the same substitution keys from CDK as the local runner uses', async () => {
    const { localSubstitutions } = await import('../../functions/local/runner.js');
    const { spec } = (await examplePipelines())[0]!;
    const local = Object.keys(localSubstitutions(spec, 'pipelines/orders.yaml')).sort();
    for (const t of Object.values(prod.pipelines))
      expect(Object.keys(deployed(t).values).sort()).toEqual(local);
  });

  it('passes asl-validator (paths and ARNs checked)', () => {
    for (const [name, t] of Object.entries(prod.pipelines)) {
      const { asset, values } = deployed(t);
      const result = aslValidator(JSON.parse(cloudFormationSubstitute(asset, values)), {
        checkPaths: true,
        checkArn: true,
      });
      expect(result.errors, name).toEqual([]);
      expect(result.isValid).toBe(true);
    }
  });
});

describe('run events', () => {
  it("let users hook anything to a pipeline's runs with a rule on the stage bus", async () => {
    const [manualSpec] = await fixturePipelines('manual');
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const { config } = resolveStageConfig('dev', cdkJsonContext()[STAGES_CONTEXT_KEY]);
    const { platform } = buildSluiceApp(app, {
      stage: 'dev',
      config,
      pipelines: [{ spec: manualSpec!.spec, contentHash: manualSpec!.contentHash }],
      nag: false,
    });
    const pipeline = platform.pipelines[0]!.pipeline;
    pipeline.onRunSucceeded('Notify', { description: 'tell the analysts' });
    pipeline.onRunFailed('Page');
    const t = Template.fromStack(platform.pipelines[0]!);
    for (const detailType of ['RunSucceeded', 'RunFailed']) {
      t.hasResourceProperties('AWS::Events::Rule', {
        EventBusName: Match.anyValue(),
        EventPattern: { source: ['sluice'], 'detail-type': [detailType], detail: { pipeline: ['manual'] } },
      });
    }
  });
});
