// The platform stack's outputs: what the CLI (`--stage`), the docs and on-call tools read, under the keys of lib/naming.ts.
import { CfnOutput, type Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { DATABASE_NAME } from './constructs/warehouse-database.js';
import { AUDIT_ANCHOR_PREFIX, STAGE_OUTPUTS } from './naming.js';
import type { SluicePlatform } from './platform.js';

/** The stage's resources, as outputs of the stack itself (so their keys are the ids below, unprefixed). */
export function addStageOutputs(stack: Stack, platform: SluicePlatform): void {
  const O = STAGE_OUTPUTS;
  const outputs: [string, string, string][] = [
    [
      'LandingBucketName',
      platform.landingBucket.bucketName,
      'Upload source files here (folder locations of specs resolve to it)',
    ],
    [
      O.stagingBucketName,
      platform.stagingBucket.bucketName,
      'Published specs (specs/) and run files (runs/): sluice rejects --stage',
    ],
    ['AlarmTopicArn', platform.alarmTopic.topicArn, 'Subscribe on-call tools to this topic'],
    ['RunEventBusName', platform.eventBus.eventBusName, 'RunSucceeded / RunFailed events, source "sluice"'],
    [
      'DatabaseProxyEndpoint',
      platform.database.proxy.endpoint,
      'PostgreSQL endpoint for the functions (TLS required)',
    ],
    [
      'DatabaseAdminSecretArn',
      platform.database.adminSecret.secretArn,
      'Admin credentials of the warehouse (rotated)',
    ],
    ['EncryptionKeyArn', platform.encryptionKey.keyArn, 'Encrypt pipeline credential secrets with this key'],
    [
      O.databaseClusterArn,
      platform.database.cluster.clusterArn,
      'RDS Data API resource (enabled): read the ledger with a login secret below',
    ],
    [O.databaseName, DATABASE_NAME, 'Database of the ledger, the audit log and the targets'],
    [
      O.readerSecretArn,
      platform.database.loginSecrets.reader.secretArn,
      'sluice_reader_login (run ledger and targets, read only): sluice runs / rejects / ui --stage',
    ],
    [
      O.auditorSecretArn,
      platform.database.loginSecrets.auditor.secretArn,
      'sluice_auditor_login (audit log, read only): sluice audit verify --stage',
    ],
    [
      O.loaderSecretArn,
      platform.database.loginSecrets.loader.secretArn,
      'sluice_loader_login (member of sluice_loader), rotated',
    ],
    [
      O.auditAnchorBucketName,
      platform.auditAnchor.bucket.bucketName,
      `Anchored audit heads (Object Lock ${platform.config.audit.anchorMode}) under ${AUDIT_ANCHOR_PREFIX}: sluice audit verify --stage`,
    ],
  ];
  for (const [outputId, value, description] of outputs)
    new CfnOutput(stack, outputId, { value, description });
}

/** The roles people assume to run and read the stage's pipelines. */
export function addRoleOutputs(stack: Stack, operator: iam.IRole, viewer: iam.IRole): void {
  new CfnOutput(stack, 'OperatorRoleArn', {
    value: operator.roleArn,
    description: 'Assume to run, stop, redrive and read runs (sluice run / redrive / runs --stage)',
  });
  new CfnOutput(stack, 'ViewerRoleArn', {
    value: viewer.roleArn,
    description: 'Assume to read runs, their summaries and rejects (sluice runs --stage)',
  });
}
