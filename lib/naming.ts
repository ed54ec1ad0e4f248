/**
 * Names that cross the boundary between the stacks and the tools that find their resources (the CLI,
 * the docs, alarms). Kept in one place so `sluice run orders --stage prod` finds what `cdk deploy` made.
 */

/** CloudFormation stack of a stage: the platform, with one nested stack per pipeline. */
export const platformStackName = (stage: string) => `sluice-${stage}`;

/** State machine of a pipeline in a stage, e.g. `sluice-prod-orders`. */
export const stateMachineName = (stage: string, pipeline: string) => `sluice-${stage}-${pipeline}`;

/** IAM role people assume to start, stop, redrive and read the runs of a stage, e.g. `sluice-prod-operator`. */
export const operatorRoleName = (stage: string) => `sluice-${stage}-operator`;

/** IAM role people assume to read the runs of a stage (executions, summaries, rejects), e.g. `sluice-prod-viewer`. */
export const viewerRoleName = (stage: string) => `sluice-${stage}-viewer`;

/** Secrets Manager prefix of a stage: pipeline credentials are `<prefix><name>`, e.g. `sluice/prod/warehouse-api`. */
export const secretPrefix = (stage: string) => `sluice/${stage}/`;

/** Custom EventBridge bus that carries RunSucceeded / RunFailed of a stage. */
export const eventBusName = (stage: string) => `sluice-${stage}`;

/** `source` of every event Sluice puts on the bus. */
export const EVENT_SOURCE = 'sluice';

/** CloudWatch namespace of the Powertools (EMF) metrics of a stage. */
export const metricsNamespace = (stage: string) => `Sluice/${stage}`;

/** Powertools service name of a pipeline's functions and worker: the `service` dimension of its metrics. */
export const serviceName = (pipeline: string) => `sluice-${pipeline}`;

/** Name of the worker container in each task definition, the `WorkerContainerName` substitution. */
export const WORKER_CONTAINER_NAME = 'chunk-worker';

/** Where a pipeline's validated spec is published in staging: content-addressed, never overwritten. */
export const specKey = (pipeline: string, contentHash: string) => `specs/${pipeline}/${contentHash}.json`;

/** Staging prefix of run files (manifests, item lists, rejects), expired by the bucket lifecycle. */
export const RUNS_PREFIX = 'runs/';

/**
 * Output keys of the platform stack (`sluice-<stage>`) that the CLI reads with DescribeStacks: the stack
 * emits each under exactly this key, and `--stage` finds the stage's resources by it.
 */
export const STAGE_OUTPUTS = {
  /** Aurora cluster ARN, the RDS Data API resource (`runs --stage`, `audit verify --stage`). */
  databaseClusterArn: 'DatabaseClusterArn',
  /** Database that holds the ledger and the audit log. */
  databaseName: 'DatabaseName',
  /** sluice_reader_login's secret: the ledger and targets, read only (`runs`, `rejects`, `ui --stage`). */
  readerSecretArn: 'DatabaseReaderSecretArn',
  /** sluice_auditor_login's secret: the audit log, read only (`audit verify --stage`). */
  auditorSecretArn: 'DatabaseAuditorSecretArn',
  /** sluice_loader_login's secret (the functions'; never the CLI's). */
  loaderSecretArn: 'DatabaseLoaderSecretArn',
  /** Staging bucket: published specs and run files, rejects among them. */
  stagingBucketName: 'StagingBucketName',
  /** Object Lock bucket of the anchored audit heads (`audit verify --stage`). */
  auditAnchorBucketName: 'AuditAnchorBucketName',
} as const;

/** Prefix of the anchored audit heads in the stage's anchor bucket (the S3 anchor's default). */
export const AUDIT_ANCHOR_PREFIX = 'audit-anchor/';
