import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IgnoreMode, RemovalPolicy } from 'aws-cdk-lib';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { fargateSizeProblem } from '../fargate-sizes.js';
import { acknowledge } from '../nag.js';
import { WORKER_CONTAINER_NAME } from '../naming.js';
import { REPO_ROOT } from '../paths.js';
import { LeastPrivilegeRole } from './least-privilege-role.js';
import type { LogLevel } from './sluice-function.js';

/** The allow-list of the build context, shared by `docker build` and CDK's asset staging. */
export function dockerIgnorePatterns(file = join(REPO_ROOT, 'container', '.dockerignore')): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * The chunk worker image, built from container/Dockerfile with the repository as context. Synth only
 * stages the context (no Docker); `cdk deploy` builds and pushes it, which needs Docker on that machine.
 */
export class ChunkWorkerImage extends Construct {
  public readonly asset: ecrAssets.DockerImageAsset;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.asset = new ecrAssets.DockerImageAsset(this, 'Asset', {
      directory: REPO_ROOT,
      file: 'container/Dockerfile',
      platform: ecrAssets.Platform.LINUX_ARM64,
      exclude: dockerIgnorePatterns(),
      ignoreMode: IgnoreMode.DOCKER,
    });
  }
}

export interface ChunkWorkerTaskProps {
  /** Task family, stable across deploys: the state machine runs the latest revision of it. */
  readonly family: string;
  readonly image: ChunkWorkerImage;
  /** Environment of the worker (the same contract as the chunk function); the Powertools variables are added. */
  readonly environment: Record<string, string>;
  readonly encryptionKey: kms.IKey;
  /** Powertools service name: the `service` of every log line and metric, as in the pipeline's functions. */
  readonly serviceName: string;
  /** CloudWatch namespace of the worker's Powertools metrics. */
  readonly metricsNamespace: string;
  /**
   * Powertools log level.
   * @default 'INFO'
   */
  readonly logLevel?: LogLevel;
  /**
   * @default 2048
   */
  readonly cpu?: number;
  /**
   * @default 8192
   */
  readonly memoryLimitMiB?: number;
  /**
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * One pipeline's Fargate task definition for heavy chunks: arm64, read-only root filesystem, non-root
 * user (from the image), logs to an encrypted group, and a task role that holds only that pipeline's
 * grants (so one pipeline's credentials never reach another's chunks).
 */
export class ChunkWorkerTask extends Construct {
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly taskRole: LeastPrivilegeRole;
  public readonly executionRole: LeastPrivilegeRole;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ChunkWorkerTaskProps) {
    super(scope, id);
    const cpu = props.cpu ?? 2048;
    const memoryLimitMiB = props.memoryLimitMiB ?? 8192;
    const problem = fargateSizeProblem(cpu, memoryLimitMiB);
    if (problem) throw new Error(`${this.node.path}: ${problem}`);
    this.taskRole = new LeastPrivilegeRole(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `Chunk worker ${props.family}: what the chunk code calls`,
    });
    this.executionRole = new LeastPrivilegeRole(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `Chunk worker ${props.family}: pull the image, write logs`,
      knownWildcards: [
        {
          actions: ['ecr:GetAuthorizationToken'],
          reason: 'ECR authorization tokens are account-wide: the API has no resource-level permissions',
        },
      ],
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      encryptionKey: props.encryptionKey,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      family: props.family,
      cpu,
      memoryLimitMiB,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      taskRole: this.taskRole,
      executionRole: this.executionRole,
      volumes: [{ name: 'tmp' }],
    });
    this.container = this.taskDefinition.addContainer('Worker', {
      containerName: WORKER_CONTAINER_NAME,
      image: ecs.ContainerImage.fromDockerImageAsset(props.image.asset),
      essential: true,
      readonlyRootFilesystem: true,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
      },
      logging: ecs.LogDrivers.awsLogs({
        logGroup: this.logGroup,
        streamPrefix: 'worker',
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
      }),
    });
    this.container.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false });
    props.encryptionKey.grantDecrypt(this.executionRole);

    acknowledge(this.taskDefinition, {
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds only names and ARNs (bucket, secret ARN, proxy host, bus); every secret value is read from Secrets Manager at run time',
    });
  }
}
