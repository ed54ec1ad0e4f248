import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSpec } from '../../functions/engine/spec/load.js';
import { resolveStageConfig, STAGES_CONTEXT_KEY, stageConfigSchema } from '../../lib/config.js';
import { ChunkWorkerImage, ChunkWorkerTask } from '../../lib/constructs/chunk-worker.js';
import { LeastPrivilegeRole } from '../../lib/constructs/least-privilege-role.js';
import { SluiceNetwork } from '../../lib/constructs/network.js';
import {
  credentialSecretNames,
  PipelineConfigError,
  parseS3Location,
  resolveSource,
  specForAws,
  validateMapSettings,
} from '../../lib/constructs/pipeline.js';
import { freshnessWindowOf, scheduleIntervalHours } from '../../lib/constructs/pipeline-monitoring.js';
import { PipelineOrchestration } from '../../lib/constructs/pipeline-orchestration.js';
import { PipelineStepFunctions } from '../../lib/constructs/pipeline-step-functions.js';
import { objectKeyFilter, PipelineTriggers } from '../../lib/constructs/pipeline-triggers.js';
import { SluiceFunction } from '../../lib/constructs/sluice-function.js';
import { SluiceStorage } from '../../lib/constructs/storage.js';
import { WarehouseDatabase } from '../../lib/constructs/warehouse-database.js';
import { GitHubDeployStack } from '../../lib/github-deploy-stack.js';
import { toRetentionDays } from '../../lib/retention.js';
import { cdkJsonContext } from './support/synth.js';

const minimalSpec = (extra = '') =>
  parseSpec(`name: probe
source: { connector: files, config: { location: data/probe, format: csv } }
destination:
  table: probe
  columns: { id: { type: bigint, nullable: false }, day: { type: date, nullable: false } }
  partitioning: { column: day }
${extra}`).spec;

describe('stage configuration (cdk.json context)', () => {
  it('has dev, staging and prod, all valid', () => {
    const stages = cdkJsonContext()[STAGES_CONTEXT_KEY] as Record<string, unknown>;
    expect(Object.keys(stages).sort()).toEqual(['dev', 'prod', 'staging']);
    for (const stage of Object.keys(stages)) expect(() => resolveStageConfig(stage, stages)).not.toThrow();
  });

  it('fails when the stage is unknown, listing the known ones', () => {
    expect(() => resolveStageConfig('qa', { dev: {}, prod: {} })).toThrow(
      /no configuration for stage "qa".*found: dev, prod/,
    );
  });

  it('fails when the stage name is not a short lower-case word', () => {
    expect(() => resolveStageConfig('Prod!', {})).toThrow(/-c stage=Prod!: must be a short lower-case name/);
    expect(() => resolveStageConfig(undefined, {})).toThrow(/-c stage=undefined/);
  });

  it('fails naming each wrong field and why', () => {
    const bad = {
      prod: {
        database: { minCapacity: 8, maxCapacity: 2 },
        alarms: { emails: ['not-an-email'] },
        colour: 'blue',
      },
    };
    const message = (() => {
      try {
        resolveStageConfig('prod', bad);
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    })();
    expect(message).toContain(
      'sluice:stages.prod.database.minCapacity: minCapacity must not exceed maxCapacity',
    );
    expect(message).toContain('sluice:stages.prod.alarms.emails.0');
    expect(message).toMatch(/colour/);
  });

  it('defaults every field it documents', () => {
    expect(stageConfigSchema.parse({})).toEqual({
      database: {
        minCapacity: 0.5,
        maxCapacity: 8,
        readers: 0,
        backupRetentionDays: 7,
        removalPolicy: 'snapshot',
        deletionProtection: true,
      },
      retention: { logDays: 30, stagingDays: 14, accessLogDays: 90 },
      removalPolicies: { buckets: 'retain', key: 'retain' },
      alarms: { emails: [] },
      network: { endpointsInEveryAz: true, egress: { mode: 'none' } },
      functions: { logLevel: 'INFO', reserveConcurrency: true },
      worker: { cpu: 2048, memoryMiB: 8192 },
      audit: { anchorMode: 'COMPLIANCE', anchorRetentionDays: 2557 },
      access: { operators: [], viewers: [] },
    });
  });
});

describe('pipeline helpers', () => {
  it('parse s3:// locations, normalising the prefix to a folder', () => {
    expect(parseS3Location('s3://acme-raw/orders')).toEqual({ bucket: 'acme-raw', prefix: 'orders/' });
    expect(parseS3Location('s3://acme-raw')).toEqual({ bucket: 'acme-raw', prefix: '' });
    expect(parseS3Location('data/orders')).toBeUndefined();
    expect(parseS3Location(undefined)).toBeUndefined();
  });

  it('move a folder source to the landing bucket and leave s3:// and other locations alone', () => {
    const spec = minimalSpec();
    expect(resolveSource(spec, 'landing')).toEqual({
      bucket: 'landing',
      prefix: 'data/probe/',
      location: 's3://landing/data/probe/',
    });
    expect(specForAws(spec, resolveSource(spec, 'landing')).source.config.location).toBe(
      's3://landing/data/probe/',
    );
    const escaping = { ...spec, source: { ...spec.source, config: { location: '../secrets' } } };
    expect(resolveSource(escaping, 'landing')).toBeUndefined();
    const https = { ...spec, source: { ...spec.source, config: { location: 'https://example.com/x' } } };
    expect(resolveSource(https, 'landing')).toBeUndefined();
  });

  it('filter object keys by prefix, or prefix and suffix', () => {
    expect(objectKeyFilter('incoming/')).toEqual({ prefix: 'incoming/' });
    expect(objectKeyFilter('in*coming/', '.csv')).toEqual({ wildcard: 'in\\*coming/*.csv' });
  });

  it('list the secrets a run reads, deduplicated', () => {
    const spec = minimalSpec(`transforms:
  - hash: { columns: [id], keySecret: k1 }
  - hash: { columns: [day], keySecret: k1 }`);
    const withCreds = {
      ...spec,
      source: { ...spec.source, credentials: { user: 'db-user', password: 'db-user' } },
    };
    expect(credentialSecretNames(withCreds)).toEqual({ source: ['db-user'], transforms: ['k1'] });
  });

  it('fails on Map settings Step Functions would refuse', () => {
    const spec = minimalSpec();
    expect(() => validateMapSettings({ ...spec, runtime: { ...spec.runtime, concurrency: 20_000 } })).toThrow(
      PipelineConfigError,
    );
    expect(() => validateMapSettings(spec)).not.toThrow();
  });

  it('call data stale after two intervals of the schedule', () => {
    expect(scheduleIntervalHours('rate(15 minutes)')).toBe(0.25);
    expect(scheduleIntervalHours('cron(0 2 * * ? *)')).toBe(24);
    expect(scheduleIntervalHours('cron(0 */6 * * ? *)')).toBe(6);
    expect(scheduleIntervalHours('cron(0 8 ? * MON-FRI *)')).toBe(72);
    expect(freshnessWindowOf('rate(1 hour)')?.toHours()).toBe(2);
    expect(freshnessWindowOf('cron(0 2 * * ? *)')?.toHours()).toBe(48);
    expect(freshnessWindowOf('cron(0 2 1 * ? *)')).toBeUndefined();
    expect(freshnessWindowOf('at(2030-01-01T00:00:00)')).toBeUndefined();
    expect(freshnessWindowOf(undefined)).toBeUndefined();
  });

  it('round log retention up to what CloudWatch offers', () => {
    expect(toRetentionDays(30)).toBe(30);
    expect(toRetentionDays(31)).toBe(60);
    expect(toRetentionDays(365)).toBe(365);
  });
});

describe('documented defaults of the constructs', () => {
  /** One app (cdk.json's feature flags, no bundling), one stack per construct, synthesized once. */
  let app: App;
  const stacks: Record<string, Stack> = {};
  const template = (name: string) => Template.fromStack(stacks[name]!);
  const isolatedVpc = (s: Stack) =>
    new ec2.Vpc(s, 'Vpc', {
      natGateways: 0,
      subnetConfiguration: [{ name: 'p', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
    });

  beforeAll(() => {
    app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const stack = (name: string) => {
      stacks[name] = new Stack(app, name);
      return stacks[name];
    };

    const fnStack = stack('Function');
    const vpc = isolatedVpc(fnStack);
    new SluiceFunction(fnStack, 'Fn', {
      handler: 'start-run',
      description: 'defaults',
      invocation: { kind: 'synchronous', caller: 'a test' },
      vpc,
      securityGroups: [new ec2.SecurityGroup(fnStack, 'Sg', { vpc })],
      encryptionKey: new kms.Key(fnStack, 'Key'),
      environment: {},
      serviceName: 'svc',
      metricsNamespace: 'ns',
      unreservedConcurrencyReason: 'a reason that is long enough to be specific',
    });

    const storage = stack('Storage');
    new SluiceStorage(storage, 'Storage', { encryptionKey: new kms.Key(storage, 'Key') });

    const network = stack('Network');
    new SluiceNetwork(network, 'Net', { encryptionKey: new kms.Key(network, 'Key') });

    const database = stack('Database');
    const net = new SluiceNetwork(database, 'Net', { encryptionKey: new kms.Key(database, 'NetKey') });
    new WarehouseDatabase(database, 'Db', {
      vpc: net.vpc,
      encryptionKey: new kms.Key(database, 'Key'),
      clusterIdentifier: 'sluice-test',
      secretsManagerEndpoint: net.interfaceEndpoints.SecretsManager,
    });

    const worker = stack('Worker');
    new ChunkWorkerTask(worker, 'Worker', {
      family: 'f',
      image: new ChunkWorkerImage(worker, 'Image'),
      environment: {},
      encryptionKey: new kms.Key(worker, 'Key'),
      serviceName: 'svc',
      metricsNamespace: 'ns',
    });

    const steps = stack('StepFunctions');
    const stepsVpc = isolatedVpc(steps);
    const stepFunctions = new PipelineStepFunctions(steps, 'Steps', {
      pipeline: 'p',
      stateMachineName: 'sluice-test-p',
      vpc: stepsVpc,
      securityGroup: new ec2.SecurityGroup(steps, 'Sg', { vpc: stepsVpc }),
      encryptionKey: new kms.Key(steps, 'Key'),
      environment: {},
      serviceName: 'svc',
      metricsNamespace: 'ns',
    });

    const flow = stack('Orchestration');
    const flowVpc = isolatedVpc(flow);
    const flowKey = new kms.Key(flow, 'Key');
    const fnFromArn = (name: string) =>
      lambda.Function.fromFunctionArn(flow, name, `arn:aws:lambda:eu-west-1:123456789012:function:${name}`);
    new PipelineOrchestration(flow, 'Orchestration', {
      pipeline: 'p',
      stateMachineName: 'sluice-test-p',
      stage: 'test',
      specLocation: 's3://b/specs/p/0123.json',
      functions: {
        prepare: fnFromArn('prepare'),
        processChunks: fnFromArn('process-chunks'),
        commit: fnFromArn('commit'),
        fail: fnFromArn('fail'),
      },
      worker: new ChunkWorkerTask(flow, 'Worker', {
        family: 'f',
        image: new ChunkWorkerImage(flow, 'Image'),
        environment: {},
        encryptionKey: flowKey,
        serviceName: 'svc',
        metricsNamespace: 'ns',
      }),
      cluster: new ecs.Cluster(flow, 'Cluster', { vpc: flowVpc }),
      vpc: flowVpc,
      workerSecurityGroup: new ec2.SecurityGroup(flow, 'Sg', { vpc: flowVpc }),
      stagingBucket: new s3.Bucket(flow, 'Staging'),
      encryptionKey: flowKey,
    });

    for (const [name, uploads] of [
      ['Triggers', undefined],
      ['UploadTriggers', { bucketName: 'landing', prefix: 'in/' }],
    ] as const) {
      const triggers = stack(name);
      const triggersVpc = isolatedVpc(triggers);
      new PipelineTriggers(triggers, 'Triggers', {
        pipeline: 'p',
        stateMachine: sfn.StateMachine.fromStateMachineName(triggers, 'Sm', 'sluice-test-p'),
        stateMachineName: 'sluice-test-p',
        encryptionKey: new kms.Key(triggers, 'Key'),
        ...(uploads ? { uploads } : {}),
        vpc: triggersVpc,
        securityGroup: new ec2.SecurityGroup(triggers, 'Sg', { vpc: triggersVpc }),
        serviceName: 'svc',
        metricsNamespace: 'ns',
      });
    }
    expect(stepFunctions.all).toHaveLength(4);

    const roleStack = stack('Role');
    const role = new LeastPrivilegeRole(roleStack, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'd',
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::b/k'] }),
    );
    app.synth();
  });

  it('SluiceFunction: 1024 MB, 1 minute, 30-day logs, INFO, no reservation, no RDS CA', () => {
    const t = template('Function');
    const [fn] = Object.values(
      t.findResources('AWS::Lambda::Function', { Properties: { Description: 'defaults' } }),
    );
    expect(fn?.Properties).toMatchObject({
      MemorySize: 1024,
      Timeout: 60,
      LoggingConfig: { ApplicationLogLevel: 'INFO' },
    });
    expect(fn?.Properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(fn?.Properties.Environment.Variables.NODE_EXTRA_CA_CERTS).toBeUndefined();
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('SluiceFunction: fails without a reservation or a reason for none', () => {
    const s = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'NoReason');
    const vpc = isolatedVpc(s);
    expect(
      () =>
        new SluiceFunction(s, 'Fn', {
          handler: 'start-run',
          description: 'x',
          invocation: { kind: 'asynchronous', onFailure: new sqs.Queue(s, 'Q') },
          vpc,
          securityGroups: [],
          encryptionKey: new kms.Key(s, 'Key'),
          environment: {},
          serviceName: 'svc',
          metricsNamespace: 'ns',
        }),
    ).toThrow(/give reservedConcurrentExecutions or unreservedConcurrencyReason/);
  });

  it('SluiceStorage: run files kept 14 days, access logs 90, buckets retained', () => {
    const buckets = Object.values(template('Storage').findResources('AWS::S3::Bucket'));
    expect(buckets.every((b) => b.DeletionPolicy === 'Retain')).toBe(true);
    const rules = buckets.flatMap((b) => b.Properties.LifecycleConfiguration?.Rules ?? []);
    expect(rules).toContainEqual(
      expect.objectContaining({ Id: 'expire-run-files', Prefix: 'runs/', ExpirationInDays: 14 }),
    );
    expect(rules).toContainEqual(expect.objectContaining({ Id: 'expire-access-logs', ExpirationInDays: 90 }));
  });

  it('SluiceNetwork: 30-day flow logs, endpoints in every AZ', () => {
    const t = template('Network');
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    const iface = Object.values(t.findResources('AWS::EC2::VPCEndpoint')).find(
      (e) => e.Properties.VpcEndpointType === 'Interface',
    );
    expect(iface?.Properties.SubnetIds).toHaveLength(2);
  });

  it('WarehouseDatabase: 0.5–8 ACUs, no readers, 7-day backups, protected, snapshot on removal, 30-day rotation', () => {
    const t = template('Database');
    t.hasResource('AWS::RDS::DBCluster', {
      Properties: {
        ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 8 },
        BackupRetentionPeriod: 7,
        DeletionProtection: true,
      },
      DeletionPolicy: 'Snapshot',
    });
    t.resourceCountIs('AWS::RDS::DBInstance', 1);
    t.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/rds/cluster/sluice-test/postgresql',
      RetentionInDays: 30,
    });
  });

  it('ChunkWorkerTask: 2 vCPU, 8 GiB, 30-day logs, INFO', () => {
    const t = template('Worker');
    t.hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '2048', Memory: '8192' });
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([{ Name: 'POWERTOOLS_LOG_LEVEL', Value: 'INFO' }]),
        }),
      ],
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('PipelineStepFunctions: 1024 MB and 15 minutes (Fail 512 MB, 2 minutes), 2 reserved (ProcessChunks 10), 30-day logs, INFO', () => {
    const t = template('StepFunctions');
    // Only the pipeline's (the VPC adds a custom resource function of its own).
    const fns = Object.values(t.findResources('AWS::Lambda::Function'))
      .map((f) => f.Properties)
      .filter((p) => String(p.Description).startsWith('p: '));
    const byStep = (step: string) => fns.find((p) => p.Description === `p: ${step}`);
    expect(byStep('lock, plan chunks, write manifests')).toMatchObject({
      MemorySize: 1024,
      Timeout: 900,
      ReservedConcurrentExecutions: 2,
      LoggingConfig: { ApplicationLogLevel: 'INFO' },
    });
    expect(byStep('load a batch of chunks exactly once')).toMatchObject({
      MemorySize: 1024,
      Timeout: 900,
      ReservedConcurrentExecutions: 10,
    });
    expect(byStep('mark the run failed, release the lock')).toMatchObject({
      MemorySize: 512,
      Timeout: 120,
      ReservedConcurrentExecutions: 2,
    });
    expect(fns).toHaveLength(4);
    const retentions = Object.values(t.findResources('AWS::Logs::LogGroup')).map(
      (g) => g.Properties.RetentionInDays,
    );
    expect(retentions).toEqual([30, 30, 30, 30]);
  });

  it('PipelineOrchestration: a standard state machine logging to a retained 30-day group', () => {
    const t = template('Orchestration');
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'sluice-test-p',
      StateMachineType: 'STANDARD',
    });
    t.hasResource('AWS::Logs::LogGroup', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        LogGroupName: '/aws/vendedlogs/states/sluice-test-p',
        RetentionInDays: 30,
      }),
    });
  });

  it('PipelineTriggers: without a schedule or uploads, only the failure queue', () => {
    const t = template('Triggers');
    t.resourceCountIs('AWS::SQS::Queue', 1);
    t.resourceCountIs('AWS::Scheduler::Schedule', 0);
    t.resourceCountIs('AWS::Events::Rule', 0);
    const starters = t.findResources('AWS::Lambda::Function', {
      Properties: { Description: 'p: start one run per uploaded object' },
    });
    expect(Object.keys(starters)).toEqual([]);
  });

  it('PipelineTriggers: with uploads, a starter reserving 5, 30-day logs, INFO', () => {
    const t = template('UploadTriggers');
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'p: start one run per uploaded object',
      ReservedConcurrentExecutions: 5,
      LoggingConfig: Match.objectLike({ ApplicationLogLevel: 'INFO' }),
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        detail: { bucket: { name: ['landing'] }, object: { key: [{ prefix: 'in/' }] } },
      }),
    });
  });

  it('LeastPrivilegeRole: a generated name, one-hour sessions, one managed policy', () => {
    const t = template('Role');
    const [r] = Object.values(t.findResources('AWS::IAM::Role'));
    expect(r?.Properties.RoleName).toBeUndefined();
    expect(r?.Properties.MaxSessionDuration).toBe(Duration.hours(1).toSeconds());
    t.resourceCountIs('AWS::IAM::ManagedPolicy', 1);
  });

  it('GitHubDeployStack: roles for dev, staging and prod, its own OIDC provider, the default bootstrap qualifier', () => {
    const t = Template.fromStack(new GitHubDeployStack(new App(), 'Gh', { repository: 'acme/sluice' }));
    t.resourceCountIs('AWS::IAM::OIDCProvider', 1);
    expect(
      Object.values(t.findResources('AWS::IAM::Role'))
        .map((r) => r.Properties.RoleName)
        .sort(),
    ).toEqual(['sluice-github-deploy-dev', 'sluice-github-deploy-prod', 'sluice-github-deploy-staging']);
    expect(JSON.stringify(t.toJSON())).toContain('cdk-hnb659fds-deploy-role-');
  });

  it('GitHubDeployStack: fails on a repository that is not owner/name', () => {
    expect(() => new GitHubDeployStack(new App(), 'Gh', { repository: 'just-a-name' })).toThrow(
      /owner\/name/,
    );
  });
});
