import { ArnFormat, Aws, CustomResource, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { PipelineSpec } from '../../functions/engine/spec/schema.js';
import { acknowledge } from '../nag.js';
import {
  EVENT_SOURCE,
  serviceName as pipelineServiceName,
  RUNS_PREFIX,
  stateMachineName,
  WORKER_CONTAINER_NAME,
} from '../naming.js';
import { ASL_FILE } from '../paths.js';
import type { SluicePlatform } from '../platform.js';
import { toRetentionDays } from '../retention.js';
import { ChunkWorkerTask } from './chunk-worker.js';
import { LeastPrivilegeRole } from './least-privilege-role.js';
import { codeVersion, PIPELINE_RELEASE_RESOURCE_TYPE } from './migrations.js';
import { freshnessWindowOf, PipelineMonitoring } from './pipeline-monitoring.js';
import { SluiceFunction } from './sluice-function.js';

export interface SluicePipelineProps {
  readonly platform: SluicePlatform;
  /** The validated spec, defaults applied. */
  readonly spec: PipelineSpec;
  /**
   * sha256 of the spec as validated locally, shown on the dashboard.
   * @default - not shown
   */
  readonly specHash?: string;
}

export class PipelineConfigError extends Error {
  constructor(pipeline: string, message: string) {
    super(`pipeline "${pipeline}": ${message}`);
    this.name = 'PipelineConfigError';
  }
}

/** Labels of the two Distributed Maps in statemachines/pipeline.asl.json (their map runs' names). */
export const MAP_LABELS = ['LambdaChunks', 'FargateChunks'];

/** Bucket and key prefix of an `s3://bucket/prefix` location (prefix normalised to end in `/`), or undefined. */
export function parseS3Location(location: unknown): { bucket: string; prefix: string } | undefined {
  if (typeof location !== 'string') return undefined;
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(location);
  if (!m) return undefined;
  const prefix = m[2] ?? '';
  return { bucket: m[1]!, prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/` };
}

/**
 * Where a pipeline's source lives in AWS. An `s3://` location is used as it is; a folder (relative to
 * the spec file on a laptop) is the same folder in the stage's landing bucket, the way S3 becomes a
 * folder locally. Other locations (no `location`, a database connector) have no S3 source.
 */
export function resolveSource(
  spec: PipelineSpec,
  landingBucketName: string,
): { bucket: string; prefix: string; location: string } | undefined {
  const location = spec.source.config.location;
  const s3 = parseS3Location(location);
  if (s3) return { ...s3, location: location as string };
  if (typeof location !== 'string' || /^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return undefined;
  const folder = location.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
  if (folder.split('/').includes('..')) return undefined;
  const prefix = folder === '' || folder === '.' ? '' : `${folder}/`;
  return { bucket: landingBucketName, prefix, location: `s3://${landingBucketName}/${prefix}` };
}

/** The spec as runs in AWS read it: the same, with a folder source location moved to the landing bucket. */
export function specForAws(spec: PipelineSpec, source: { location: string } | undefined): PipelineSpec {
  if (!source || source.location === spec.source.config.location) return spec;
  return {
    ...spec,
    source: { ...spec.source, config: { ...spec.source.config, location: source.location } },
  };
}

/** Secret names a run reads: the source's credentials and the HMAC keys of hash transforms. */
export function credentialSecretNames(spec: PipelineSpec): { source: string[]; transforms: string[] } {
  const source = Object.values(spec.source.credentials ?? {});
  const transforms = spec.transforms.flatMap((t) => ('hash' in t ? [t.hash.keySecret] : []));
  return { source: [...new Set(source)], transforms: [...new Set(transforms)] };
}

/**
 * One pipeline in AWS: its spec published to staging (content-addressed), its target table ensured, the
 * four step functions and the chunk worker task, the state machine from statemachines/pipeline.asl.json
 * (the same file the local runner executes), its triggers (schedule, S3 uploads), alarms and dashboard.
 */
export class SluicePipeline extends Construct {
  public readonly name: string;
  public readonly stateMachine: sfn.StateMachine;
  public readonly stateMachineRole: LeastPrivilegeRole;
  public readonly functions: {
    readonly prepare: SluiceFunction;
    readonly processChunks: SluiceFunction;
    readonly commit: SluiceFunction;
    readonly fail: SluiceFunction;
  };
  /** Starts a run for each uploaded object (only with an S3 trigger). */
  public readonly starter?: SluiceFunction;
  public readonly worker: ChunkWorkerTask;
  /** Publishes the spec and ensures the target table, before the state machine changes. */
  public readonly release: CustomResource;
  /** `s3://<staging>/specs/<pipeline>/<sha256>.json`, from the release: the SpecLocation of runs started now. */
  public readonly specLocation: string;
  public readonly schedule?: scheduler.Schedule;
  public readonly objectCreatedRule?: events.Rule;
  /** Trigger events that could not start a run. */
  public readonly triggerFailures: sqs.Queue;
  public readonly monitoring: PipelineMonitoring;
  private readonly eventBus: events.IEventBus;

  constructor(scope: Construct, id: string, props: SluicePipelineProps) {
    super(scope, id);
    const { platform, spec } = props;
    const key = platform.encryptionKey;
    const bucket = platform.stagingBucket;
    const config = platform.config;
    this.name = spec.name;
    this.eventBus = platform.eventBus;
    validateMapSettings(spec);
    const source = resolveSource(spec, platform.landingBucket.bucketName);
    if (spec.triggers.s3 && !source) {
      throw new PipelineConfigError(
        spec.name,
        `triggers.s3 needs a source location: a folder (read from the landing bucket in AWS) or s3://bucket/prefix (found ${JSON.stringify(spec.source.config.location)})`,
      );
    }
    const machineName = stateMachineName(platform.stage, spec.name);
    const service = pipelineServiceName(spec.name);
    const logRetention = toRetentionDays(config.retention.logDays);
    const logLevel = config.functions.logLevel;

    this.triggerFailures = new sqs.Queue(this, 'TriggerFailures', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const notAWorkQueue =
      "Dead-letter destination of this pipeline's triggers (schedule, upload rule, starter function), watched by an alarm; it is not a work queue, so it has no dead-letter queue of its own";
    acknowledge(
      this.triggerFailures,
      { id: 'AwsSolutions-SQS3', reason: notAWorkQueue },
      { id: 'Serverless-SQSRedrivePolicy', reason: notAWorkQueue },
    );

    // Publish the spec and ensure its table first: a deploy whose table cannot be made fails here, and
    // the state machine only ever points at a published spec (specs/<pipeline>/<sha256>.json).
    this.release = new CustomResource(this, 'Release', {
      serviceToken: platform.migrations.provider.serviceToken,
      resourceType: PIPELINE_RELEASE_RESOURCE_TYPE,
      properties: {
        Kind: 'pipeline',
        Pipeline: spec.name,
        // One JSON string: CloudFormation would turn numbers and booleans of nested properties into strings.
        Spec: JSON.stringify(specForAws(spec, source)),
        Code: codeVersion(platform.migrations.function.function),
      },
    });
    this.specLocation = this.release.getAttString('SpecLocation');

    const environment: Record<string, string> = {
      SLUICE_STAGING_BUCKET: bucket.bucketName,
      SLUICE_DATABASE_SECRET_ARN: platform.database.adminSecret.secretArn,
      SLUICE_DATABASE_HOST: platform.database.proxy.endpoint,
      SLUICE_SECRET_PREFIX: platform.secretPrefix,
      SLUICE_EVENT_BUS_NAME: platform.eventBus.eventBusName,
    };
    const reserve = config.functions.reserveConcurrency;
    const unreserved =
      'Stage config functions.reserveConcurrency is off (accounts with the initial Lambda concurrency quota of 10 cannot reserve any)';
    const stepFunction = (
      fnId: string,
      handler: 'prepare' | 'process-chunks' | 'commit' | 'fail',
      options: {
        description: string;
        memorySize: number;
        timeout: Duration;
        reserved: number;
      },
    ) =>
      new SluiceFunction(this, fnId, {
        handler,
        description: `${spec.name}: ${options.description}`,
        invocation: {
          kind: 'synchronous',
          caller: `the ${machineName} state machine (lambda:invoke task with Retry and Catch)`,
        },
        vpc: platform.vpc,
        securityGroups: [platform.computeSecurityGroup],
        encryptionKey: key,
        environment,
        serviceName: service,
        metricsNamespace: platform.metricsNamespace,
        memorySize: options.memorySize,
        timeout: options.timeout,
        ...(reserve
          ? { reservedConcurrentExecutions: options.reserved }
          : { unreservedConcurrencyReason: unreserved }),
        logRetention,
        logLevel,
        trustRdsCertificates: true,
        sourceConnector: spec.source.connector,
      });
    const timeout = Duration.seconds(spec.runtime.timeoutSeconds);
    this.functions = {
      // One run at a time per pipeline (the run lock): two leave room for a retry that overlaps.
      prepare: stepFunction('Prepare', 'prepare', {
        description: 'lock, plan chunks, write manifests',
        memorySize: spec.runtime.memoryMb,
        timeout,
        reserved: 2,
      }),
      // The Map's MaxConcurrency, reserved, so chunk loads never exceed what the proxy was sized for.
      processChunks: stepFunction('ProcessChunks', 'process-chunks', {
        description: 'load a batch of chunks exactly once',
        memorySize: spec.runtime.memoryMb,
        timeout,
        reserved: spec.runtime.concurrency,
      }),
      commit: stepFunction('Commit', 'commit', {
        description: 'quality checks and the atomic merge',
        memorySize: spec.runtime.memoryMb,
        timeout,
        reserved: 2,
      }),
      fail: stepFunction('Fail', 'fail', {
        description: 'mark the run failed, release the lock',
        memorySize: 512,
        timeout: Duration.minutes(2),
        reserved: 2,
      }),
    };

    this.worker = new ChunkWorkerTask(this, 'Worker', {
      family: `${machineName}-worker`,
      image: platform.workerImage,
      environment: {
        ...environment,
        POWERTOOLS_SERVICE_NAME: service,
        POWERTOOLS_LOG_LEVEL: logLevel,
        POWERTOOLS_METRICS_NAMESPACE: platform.metricsNamespace,
      },
      encryptionKey: key,
      cpu: config.worker.cpu,
      memoryLimitMiB: config.worker.memoryMiB,
      logRetention,
    });

    // What the run's code calls, per role: staging, the database secret, sources, credentials, events.
    const names = credentialSecretNames(spec);
    const chunkRoles = [this.functions.processChunks.role, this.worker.taskRole];
    for (const role of [...Object.values(this.functions).map((f) => f.role), this.worker.taskRole]) {
      this.grantStaging(role, platform, spec.name);
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [platform.database.adminSecret.secretArn],
        }),
      );
    }
    for (const role of [this.functions.prepare.role, ...chunkRoles]) {
      if (source) grantSourceRead(role, source, spec.name, platform);
      grantSecrets(role, platform.secretPrefix, names.source);
    }
    for (const role of chunkRoles) grantSecrets(role, platform.secretPrefix, names.transforms);
    for (const fn of [this.functions.commit, this.functions.fail]) {
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['events:PutEvents'],
          resources: [platform.eventBus.eventBusArn],
        }),
      );
    }

    this.stateMachineRole = this.createStateMachineRole(machineName, platform);
    const isolatedSubnets = platform.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: machineName,
      comment: `Sluice pipeline ${spec.name} (${platform.stage})`,
      definitionBody: sfn.DefinitionBody.fromFile(ASL_FILE),
      definitionSubstitutions: {
        PipelineName: spec.name,
        SpecLocation: this.specLocation,
        PrepareFunctionArn: this.functions.prepare.function.functionArn,
        ProcessChunksFunctionArn: this.functions.processChunks.function.functionArn,
        CommitFunctionArn: this.functions.commit.function.functionArn,
        FailFunctionArn: this.functions.fail.function.functionArn,
        StagingBucket: bucket.bucketName,
        ClusterArn: platform.cluster.clusterArn,
        // The family, not a revision: a run that spans a deploy still starts its Fargate chunks on the
        // latest ACTIVE revision (a replaced revision is deregistered and can no longer run).
        WorkerTaskDefinitionArn: this.worker.taskDefinition.family,
        WorkerContainerName: WORKER_CONTAINER_NAME,
        WorkerSubnetIds: Fn.join(',', isolatedSubnets.subnetIds),
        WorkerSecurityGroupIds: platform.computeSecurityGroup.securityGroupId,
      },
      stateMachineType: sfn.StateMachineType.STANDARD,
      role: this.stateMachineRole,
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'StateMachineLogs', {
          // The vended-logs prefix keeps CloudWatch Logs' resource policy small with many state machines.
          logGroupName: `/aws/vendedlogs/states/${machineName}`,
          encryptionKey: key,
          retention: logRetention,
          removalPolicy: RemovalPolicy.RETAIN,
        }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    this.stateMachine.node.addDependency(this.worker.taskDefinition);

    const trigger = { type: 'schedule' };
    if (spec.triggers.schedule) {
      const scheduleRole = new LeastPrivilegeRole(this, 'ScheduleRole', {
        assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
          conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
        }),
        description: `EventBridge Scheduler: start ${machineName} on its schedule`,
      });
      // Failed deliveries go to the encrypted trigger failure queue, sent with this role.
      scheduleRole.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [key.keyArn] }),
      );
      this.schedule = new scheduler.Schedule(this, 'Schedule', {
        description: `Runs ${spec.name} ${spec.triggers.schedule}`,
        schedule: scheduler.ScheduleExpression.expression(spec.triggers.schedule),
        target: new schedulerTargets.StepFunctionsStartExecution(this.stateMachine, {
          input: scheduler.ScheduleTargetInput.fromObject({ trigger }),
          role: scheduleRole,
          deadLetterQueue: this.triggerFailures,
          retryAttempts: 3,
          maxEventAge: Duration.hours(1),
        }),
      });
    }

    if (spec.triggers.s3 && source) {
      this.starter = new SluiceFunction(this, 'StartRun', {
        handler: 'start-run',
        description: `${spec.name}: start one run per uploaded object`,
        invocation: { kind: 'asynchronous', onFailure: this.triggerFailures },
        vpc: platform.vpc,
        securityGroups: [platform.computeSecurityGroup],
        encryptionKey: key,
        environment: { SLUICE_STATE_MACHINE_ARN: this.stateMachine.stateMachineArn },
        serviceName: service,
        metricsNamespace: platform.metricsNamespace,
        memorySize: 256,
        timeout: Duration.seconds(30),
        ...(reserve ? { reservedConcurrentExecutions: 5 } : { unreservedConcurrencyReason: unreserved }),
        logRetention,
        logLevel,
      });
      this.starter.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['states:StartExecution'],
          resources: [this.stateMachine.stateMachineArn],
        }),
      );
      const { prefix, suffix } = spec.triggers.s3;
      this.objectCreatedRule = new events.Rule(this, 'ObjectCreated', {
        description: `Starts ${spec.name} for each object created under s3://${source.bucket}/${prefix}${suffix ? `…${suffix}` : ''}`,
        eventPattern: {
          source: ['aws.s3'],
          detailType: ['Object Created'],
          detail: { bucket: { name: [source.bucket] }, object: { key: [objectKeyFilter(prefix, suffix)] } },
        },
        targets: [
          new eventTargets.LambdaFunction(this.starter.function, {
            deadLetterQueue: this.triggerFailures,
            retryAttempts: 4,
            maxEventAge: Duration.hours(2),
          }),
        ],
      });
    }

    const triggerText = [
      spec.triggers.schedule ? `schedule \`${spec.triggers.schedule}\`` : undefined,
      spec.triggers.s3 && source
        ? `uploads to \`s3://${source.bucket}/${spec.triggers.s3.prefix}\``
        : undefined,
    ].filter(Boolean);
    this.monitoring = new PipelineMonitoring(this, 'Monitoring', {
      pipeline: spec.name,
      dashboardName: machineName,
      stateMachine: this.stateMachine,
      functions: {
        prepare: this.functions.prepare.function,
        'process-chunks': this.functions.processChunks.function,
        commit: this.functions.commit.function,
        fail: this.functions.fail.function,
        ...(this.starter ? { 'start-run': this.starter.function } : {}),
      },
      triggerFailures: this.triggerFailures,
      alarmTopic: platform.alarmTopic,
      metricsNamespace: platform.metricsNamespace,
      serviceName: service,
      maxRejectRatio: spec.quality.maxRejectRatio,
      ...(freshnessWindowOf(spec.triggers.schedule)
        ? { freshnessWindow: freshnessWindowOf(spec.triggers.schedule) }
        : {}),
      description: [
        `# ${spec.name} (${platform.stage})${spec.description ? ` — ${spec.description}` : ''}`,
        `Loads into \`${spec.destination.schema}.${spec.destination.table}\` (${spec.destination.mode}); runs on ${triggerText.join(' and ') || 'demand (`sluice run`)'}. ` +
          `Map: concurrency ${spec.runtime.concurrency}, ${spec.chunking.chunksPerBatch} chunk(s) per batch, tolerated failures ${spec.runtime.toleratedFailurePercentage}%, compute ${spec.runtime.compute}. ${props.specHash ? `Spec \`${props.specHash.slice(0, 12)}\`.` : ''}`,
      ],
    });
  }

  /** A rule on the stage's bus for this pipeline's RunSucceeded events (detail: runId and counts). */
  public onRunSucceeded(
    id: string,
    options: Omit<events.RuleProps, 'eventBus' | 'eventPattern'> = {},
  ): events.Rule {
    return this.onRunEvent(id, 'RunSucceeded', options);
  }

  /** A rule on the stage's bus for this pipeline's RunFailed events (detail: runId and error). */
  public onRunFailed(
    id: string,
    options: Omit<events.RuleProps, 'eventBus' | 'eventPattern'> = {},
  ): events.Rule {
    return this.onRunEvent(id, 'RunFailed', options);
  }

  private onRunEvent(
    id: string,
    detailType: string,
    options: Omit<events.RuleProps, 'eventBus' | 'eventPattern'>,
  ): events.Rule {
    return new events.Rule(this, id, {
      ...options,
      eventBus: this.eventBus,
      eventPattern: { source: [EVENT_SOURCE], detailType: [detailType], detail: { pipeline: [this.name] } },
    });
  }

  /** Staging: this run's files under runs/, and the pipeline's published specs, encrypted with the key. */
  private grantStaging(role: LeastPrivilegeRole, platform: SluicePlatform, pipeline: string): void {
    const bucket = platform.stagingBucket;
    role.addWildcardStatement(
      'Run files live under runs/<runId>/ in staging; run ids are created at run time',
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
        resources: [bucket.arnForObjects(`${RUNS_PREFIX}*`)],
      }),
    );
    role.addWildcardStatement(
      `Published specs of ${pipeline}: content-addressed keys specs/${pipeline}/<sha256>.json`,
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [bucket.arnForObjects(`specs/${pipeline}/*`)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${RUNS_PREFIX}*`] } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [platform.encryptionKey.keyArn],
      }),
    );
  }

  /** The Distributed Map needs: invoke the four functions, run its own child executions, read manifests, run Fargate tasks. */
  private createStateMachineRole(machineName: string, platform: SluicePlatform): LeastPrivilegeRole {
    const stack = Stack.of(this);
    const role = new LeastPrivilegeRole(this, 'StateMachineRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: `State machine ${machineName}`,
    });
    const arn = (
      service: string,
      resource: string,
      resourceName: string,
      arnFormat = ArnFormat.COLON_RESOURCE_NAME,
    ) => stack.formatArn({ service, resource, resourceName, arnFormat });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: Object.values(this.functions).map((f) => f.function.functionArn),
      }),
    );
    // By name: the role cannot reference the state machine's own ARN without a dependency cycle.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [arn('states', 'stateMachine', machineName)],
      }),
    );
    role.addWildcardStatement(
      "Child executions of this state machine's Distributed Maps: their names are generated per map run",
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [arn('states', 'execution', `${machineName}:*`)],
      }),
    );
    role.addWildcardStatement(
      'Redriving a Distributed Map run restarts its failed child executions, named <stateMachine>/<map label>:<generated id>',
      new iam.PolicyStatement({
        actions: ['states:RedriveExecution'],
        resources: MAP_LABELS.map((label) => arn('states', 'execution', `${machineName}/${label}:*`)),
      }),
    );
    role.addWildcardStatement(
      'The Distributed Maps read their item manifests from runs/<runId>/ in staging; run ids are created at run time',
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [platform.stagingBucket.arnForObjects(`${RUNS_PREFIX}*`)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [platform.encryptionKey.keyArn] }),
    );
    role.addWildcardStatement(
      "RunTask by family runs its latest revision; the revision number changes with every image, so the grant names the family with any revision, in this stage's cluster only",
      new iam.PolicyStatement({
        actions: ['ecs:RunTask'],
        resources: [
          arn(
            'ecs',
            'task-definition',
            `${this.worker.taskDefinition.family}:*`,
            ArnFormat.SLASH_RESOURCE_NAME,
          ),
        ],
        conditions: { ArnEquals: { 'ecs:cluster': platform.cluster.clusterArn } },
      }),
    );
    role.addWildcardStatement(
      "ecs:runTask.sync polls and, on abort, stops the tasks it started in this stage's cluster; task ids are generated by ECS",
      new iam.PolicyStatement({
        actions: ['ecs:DescribeTasks', 'ecs:StopTask'],
        resources: [arn('ecs', 'task', `${platform.cluster.clusterName}/*`, ArnFormat.SLASH_RESOURCE_NAME)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.worker.taskRole.roleArn, this.worker.executionRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          arn('events', 'rule', 'StepFunctionsGetEventsForECSTaskRule', ArnFormat.SLASH_RESOURCE_NAME),
        ],
      }),
    );
    return role;
  }
}

/** Read the spec's S3 source: objects under its prefix, and listings of that prefix. */
function grantSourceRead(
  role: LeastPrivilegeRole,
  source: { bucket: string; prefix: string },
  pipeline: string,
  platform: SluicePlatform,
): void {
  const bucketArn =
    source.bucket === platform.landingBucket.bucketName
      ? platform.landingBucket.bucketArn
      : `arn:${Aws.PARTITION}:s3:::${source.bucket}`;
  role.addWildcardStatement(
    `The source objects of ${pipeline} are whatever lands under its source prefix (${source.prefix || 'the bucket root'}): the grant is that prefix`,
    new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [`${bucketArn}/${source.prefix}*`] }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${source.prefix}*`] } },
    }),
  );
  if (source.bucket === platform.landingBucket.bucketName) {
    // Uploads are encrypted with the stage key by the landing bucket's default encryption.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [platform.encryptionKey.keyArn] }),
    );
  }
}

/** GetSecretValue on `<prefix><name>` for each name; `-??????` is the random suffix Secrets Manager appends. */
function grantSecrets(role: LeastPrivilegeRole, prefix: string, names: string[]): void {
  if (names.length === 0) return;
  const stack = Stack.of(role);
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['secretsmanager:GetSecretValue'],
      resources: names.map((name) =>
        stack.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: `${prefix}${name}-??????`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ),
    }),
  );
}

/** EventBridge key filter: a prefix, or a wildcard `prefix*suffix` when a suffix is given. */
export function objectKeyFilter(prefix: string, suffix?: string): Record<string, string> {
  if (!suffix) return { prefix };
  const escapeWildcard = (s: string) => s.replace(/[\\*]/g, (c) => `\\${c}`);
  return { wildcard: `${escapeWildcard(prefix)}*${escapeWildcard(suffix)}` };
}

/** The Map settings Prepare hands to the state machine must be what Step Functions accepts. */
export function validateMapSettings(spec: PipelineSpec): void {
  const r = spec.runtime;
  const problems = [
    r.concurrency < 1 || r.concurrency > 10_000
      ? `runtime.concurrency ${r.concurrency} is outside 1..10000 (Distributed Map MaxConcurrency)`
      : '',
    r.toleratedFailurePercentage < 0 || r.toleratedFailurePercentage > 100
      ? `runtime.toleratedFailurePercentage ${r.toleratedFailurePercentage} is outside 0..100`
      : '',
    spec.chunking.chunksPerBatch < 1
      ? `chunking.chunksPerBatch ${spec.chunking.chunksPerBatch} must be at least 1`
      : '',
    r.timeoutSeconds > 900 ? `runtime.timeoutSeconds ${r.timeoutSeconds} exceeds Lambda's 900 s` : '',
    r.memoryMb < 128 || r.memoryMb > 10_240
      ? `runtime.memoryMb ${r.memoryMb} is outside Lambda's 128..10240 MB`
      : '',
  ].filter(Boolean);
  if (problems.length > 0) throw new PipelineConfigError(spec.name, problems.join('; '));
}
