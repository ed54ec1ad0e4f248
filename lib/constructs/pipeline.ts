import { CustomResource, Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { type PipelineSpec, parseByteSize } from '../../functions/engine/spec/schema.js';
import { EVENT_SOURCE, serviceName as pipelineServiceName, stateMachineName } from '../naming.js';
import type { SluicePlatform } from '../platform.js';
import { toRetentionDays } from '../retention.js';
import { ChunkWorkerTask } from './chunk-worker.js';
import { codeVersion, PIPELINE_RELEASE_RESOURCE_TYPE } from './migrations.js';
import {
  grantRunFiles,
  grantSecrets,
  grantSourceRead,
  type PipelineRunResources,
} from './pipeline-grants.js';
import { freshnessWindowOf, PipelineMonitoring } from './pipeline-monitoring.js';
import { PipelineOrchestration } from './pipeline-orchestration.js';
import { PipelineStepFunctions } from './pipeline-step-functions.js';
import { PipelineTriggers } from './pipeline-triggers.js';

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
 * One pipeline in AWS: its spec published to staging (content-addressed) and its target table ensured
 * (the release), then the four step functions, the chunk worker task, the state machine, its triggers
 * (schedule, S3 uploads), alarms and dashboard: each a construct of its own, wired here.
 */
export class SluicePipeline extends Construct {
  public readonly name: string;
  /** Publishes the spec and ensures the target table, before the state machine changes. */
  public readonly release: CustomResource;
  /** `s3://<staging>/specs/<pipeline>/<sha256>.json`, from the release: the SpecLocation of runs started now. */
  public readonly specLocation: string;
  public readonly functions: PipelineStepFunctions;
  public readonly worker: ChunkWorkerTask;
  public readonly orchestration: PipelineOrchestration;
  public readonly stateMachine: PipelineOrchestration['stateMachine'];
  public readonly triggers: PipelineTriggers;
  /** Trigger events that could not start a run. */
  public readonly triggerFailures: PipelineTriggers['failures'];
  /** Starts a run for each uploaded object (only with an S3 trigger). */
  public readonly starter?: PipelineTriggers['starter'];
  public readonly monitoring: PipelineMonitoring;
  private readonly eventBus: events.IEventBus;

  constructor(scope: Construct, id: string, props: SluicePipelineProps) {
    super(scope, id);
    const { platform, spec } = props;
    const config = platform.config;
    this.name = spec.name;
    this.eventBus = platform.eventBus;
    validateMapSettings(spec);
    const slotMaxLagBytes = replicationSlotMaxLagBytes(spec);
    const source = resolveSource(spec, platform.landingBucket.bucketName);
    if (spec.triggers.s3 && !source) {
      throw new PipelineConfigError(
        spec.name,
        `triggers.s3 needs a source location: a folder (read from the landing bucket in AWS) or s3://bucket/prefix (found ${JSON.stringify(spec.source.config.location)})`,
      );
    }
    const machineName = stateMachineName(platform.stage, spec.name);
    const logging = {
      serviceName: pipelineServiceName(spec.name),
      metricsNamespace: platform.metricsNamespace,
      logRetention: toRetentionDays(config.retention.logDays),
      logLevel: config.functions.logLevel,
    };

    this.release = publishSpec(this, platform, specForAws(spec, source));
    this.specLocation = this.release.getAttString('SpecLocation');

    const environment = runEnvironment(platform);
    this.functions = new PipelineStepFunctions(this, 'StepFunctions', {
      pipeline: spec.name,
      stateMachineName: machineName,
      vpc: platform.vpc,
      vpcSubnets: platform.computeSubnets,
      securityGroup: platform.computeSecurityGroup,
      encryptionKey: platform.encryptionKey,
      environment,
      ...logging,
      memorySize: spec.runtime.memoryMb,
      timeout: Duration.seconds(spec.runtime.timeoutSeconds),
      concurrency: spec.runtime.concurrency,
      reserveConcurrency: config.functions.reserveConcurrency,
      sourceConnector: spec.source.connector,
    });
    this.worker = new ChunkWorkerTask(this, 'Worker', {
      family: `${machineName}-worker`,
      image: platform.workerImage,
      environment,
      ...logging,
      encryptionKey: platform.encryptionKey,
      cpu: config.worker.cpu,
      memoryLimitMiB: config.worker.memoryMiB,
    });
    this.grantRunAccess(spec, source, platform);

    this.orchestration = new PipelineOrchestration(this, 'Orchestration', {
      pipeline: spec.name,
      stateMachineName: machineName,
      stage: platform.stage,
      specLocation: this.specLocation,
      functions: {
        prepare: this.functions.prepare.function,
        processChunks: this.functions.processChunks.function,
        commit: this.functions.commit.function,
        fail: this.functions.fail.function,
      },
      worker: this.worker,
      cluster: platform.cluster,
      vpc: platform.vpc,
      workerSubnets: platform.computeSubnets,
      workerSecurityGroup: platform.computeSecurityGroup,
      stagingBucket: platform.stagingBucket,
      encryptionKey: platform.encryptionKey,
      logRetention: logging.logRetention,
    });
    this.stateMachine = this.orchestration.stateMachine;

    this.triggers = new PipelineTriggers(this, 'Triggers', {
      pipeline: spec.name,
      stateMachine: this.stateMachine,
      stateMachineName: machineName,
      encryptionKey: platform.encryptionKey,
      ...(spec.triggers.schedule ? { schedule: spec.triggers.schedule } : {}),
      ...(spec.triggers.s3 && source ? { uploads: { bucketName: source.bucket, ...spec.triggers.s3 } } : {}),
      vpc: platform.vpc,
      securityGroup: platform.computeSecurityGroup,
      ...logging,
      reserveConcurrency: config.functions.reserveConcurrency,
    });
    this.triggerFailures = this.triggers.failures;
    if (this.triggers.starter) this.starter = this.triggers.starter;

    this.monitoring = new PipelineMonitoring(this, 'Monitoring', {
      pipeline: spec.name,
      dashboardName: machineName,
      stateMachine: this.stateMachine,
      functions: {
        ...this.functions.byHandler(),
        ...(this.starter ? { 'start-run': this.starter.function } : {}),
      },
      triggerFailures: this.triggerFailures,
      alarmTopic: platform.alarmTopic,
      metricsNamespace: platform.metricsNamespace,
      serviceName: logging.serviceName,
      maxRejectRatio: spec.quality.maxRejectRatio,
      ...(freshnessWindowOf(spec.triggers.schedule)
        ? { freshnessWindow: freshnessWindowOf(spec.triggers.schedule) }
        : {}),
      ...(slotMaxLagBytes ? { replicationSlotMaxLagBytes: slotMaxLagBytes } : {}),
      description: dashboardDescription(spec, platform.stage, source, props.specHash),
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

  /** What the run's code calls, per role: staging, the database secret, sources, credentials, events. */
  private grantRunAccess(
    spec: PipelineSpec,
    source: { bucket: string; prefix: string } | undefined,
    platform: SluicePlatform,
  ): void {
    const run: PipelineRunResources = {
      pipeline: spec.name,
      stagingBucket: platform.stagingBucket,
      landingBucket: platform.landingBucket,
      encryptionKey: platform.encryptionKey,
      // The loader login (migration 7 gives its group what runs need); only migrations read the admin's.
      databaseSecret: platform.database.loginSecrets.loader,
      secretPrefix: platform.secretPrefix,
    };
    const names = credentialSecretNames(spec);
    const chunkRoles = [this.functions.processChunks.role, this.worker.taskRole];
    for (const role of [...this.functions.all.map((f) => f.role), this.worker.taskRole])
      grantRunFiles(role, run);
    for (const role of [this.functions.prepare.role, ...chunkRoles]) {
      if (source) grantSourceRead(role, source, run);
      grantSecrets(role, run, names.source);
    }
    for (const role of chunkRoles) grantSecrets(role, run, names.transforms);
    // Commit and fail append to the audit chain and anchor its head; no other step writes the anchor.
    for (const step of [this.functions.commit, this.functions.fail]) {
      platform.auditAnchor.grantAnchorWrite(step.role);
      for (const [name, value] of Object.entries(auditAnchorEnvironment(platform)))
        step.function.addEnvironment(name, value);
    }
    this.functions.grantPutRunEvents(platform.eventBus);
  }
}

/**
 * Publishes the spec and ensures its table before anything else changes: a deploy whose table cannot be
 * made fails here, and the state machine only ever points at a published spec
 * (specs/<pipeline>/<sha256>.json).
 */
function publishSpec(scope: Construct, platform: SluicePlatform, spec: PipelineSpec): CustomResource {
  return new CustomResource(scope, 'Release', {
    serviceToken: platform.migrations.provider.serviceToken,
    resourceType: PIPELINE_RELEASE_RESOURCE_TYPE,
    properties: {
      Kind: 'pipeline',
      Pipeline: spec.name,
      // One JSON string: CloudFormation would turn numbers and booleans of nested properties into strings.
      Spec: JSON.stringify(spec),
      Code: codeVersion(platform.migrations.function.function),
    },
  });
}

/** The handler environment (functions/handlers/env.ts) of the step functions and the worker. */
function runEnvironment(platform: SluicePlatform): Record<string, string> {
  return {
    SLUICE_STAGING_BUCKET: platform.stagingBucket.bucketName,
    SLUICE_DATABASE_SECRET_ARN: platform.database.loginSecrets.loader.secretArn,
    SLUICE_DATABASE_HOST: platform.database.proxy.endpoint,
    SLUICE_SECRET_PREFIX: platform.secretPrefix,
    SLUICE_EVENT_BUS_NAME: platform.eventBus.eventBusName,
  };
}

/** Where commit and fail anchor the audit head (functions/handlers/env.ts, read by runtime.ts). */
function auditAnchorEnvironment(platform: SluicePlatform): Record<string, string> {
  return {
    SLUICE_AUDIT_ANCHOR_BUCKET: platform.auditAnchor.bucket.bucketName,
    SLUICE_AUDIT_ANCHOR_MODE: platform.auditAnchor.mode,
    SLUICE_AUDIT_ANCHOR_RETENTION_DAYS: String(platform.auditAnchor.retentionDays),
  };
}

/** Lines of Markdown at the top of the pipeline's dashboard: target, triggers, Map settings, spec. */
function dashboardDescription(
  spec: PipelineSpec,
  stage: string,
  source: { bucket: string } | undefined,
  specHash: string | undefined,
): string[] {
  const triggerText = [
    spec.triggers.schedule ? `schedule \`${spec.triggers.schedule}\`` : undefined,
    spec.triggers.s3 && source
      ? `uploads to \`s3://${source.bucket}/${spec.triggers.s3.prefix}\``
      : undefined,
  ].filter(Boolean);
  return [
    `# ${spec.name} (${stage})${spec.description ? ` — ${spec.description}` : ''}`,
    `Loads into \`${spec.destination.schema}.${spec.destination.table}\` (${spec.destination.mode}); runs on ${triggerText.join(' and ') || 'demand (`sluice run`)'}. ` +
      `Map: concurrency ${spec.runtime.concurrency}, ${spec.chunking.chunksPerBatch} chunk(s) per batch, tolerated failures ${spec.runtime.toleratedFailurePercentage}%, compute ${spec.runtime.compute}. ${specHash ? `Spec \`${specHash.slice(0, 12)}\`.` : ''}`,
  ];
}

/** The slot-lag alarm's threshold when `source.config.cdc.maxLagBytes` is not given. */
export const DEFAULT_MAX_SLOT_LAG_BYTES = 1024 ** 3;

/**
 * The slot-lag alarm threshold of a pipeline whose postgres source uses change data capture
 * (`source.config.cdc`), or undefined when it has no replication slot. Read from the raw config, so a
 * bad `maxLagBytes` fails synth naming it.
 */
export function replicationSlotMaxLagBytes(spec: PipelineSpec): number | undefined {
  const cdc = spec.source.config.cdc;
  if (spec.source.connector !== 'postgres' || cdc === undefined) return undefined;
  if (typeof cdc !== 'object' || cdc === null || Array.isArray(cdc))
    throw new PipelineConfigError(
      spec.name,
      `source.config.cdc must be a map ({ slot, publication, maxLagBytes }), found ${JSON.stringify(cdc)}`,
    );
  const limit = (cdc as { maxLagBytes?: unknown }).maxLagBytes;
  if (limit === undefined) return DEFAULT_MAX_SLOT_LAG_BYTES;
  if (typeof limit === 'number' && Number.isSafeInteger(limit) && limit > 0) return limit;
  const bytes = typeof limit === 'string' ? sizeOrUndefined(limit) : undefined;
  if (bytes !== undefined && bytes > 0) return bytes;
  throw new PipelineConfigError(
    spec.name,
    `source.config.cdc.maxLagBytes must be a positive whole number of bytes or a size such as 1GiB or 500MB, found ${JSON.stringify(limit)}`,
  );
}

function sizeOrUndefined(text: string): number | undefined {
  try {
    return parseByteSize(text);
  } catch {
    return undefined;
  }
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
