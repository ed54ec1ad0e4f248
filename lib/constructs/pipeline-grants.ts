import { ArnFormat, Aws, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { RUNS_PREFIX } from '../naming.js';
import type { LeastPrivilegeRole } from './least-privilege-role.js';

/** What a pipeline's run code reads and writes in AWS: the grants its roles hold, and nothing else. */
export interface PipelineRunResources {
  readonly pipeline: string;
  /** Run files (runs/) and published specs (specs/<pipeline>/). */
  readonly stagingBucket: s3.IBucket;
  /** Uploads: a source in this bucket is encrypted with `encryptionKey`. */
  readonly landingBucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
  /** The database secret the run code connects with. */
  readonly databaseSecret: secretsmanager.ISecret;
  /** Prefix of pipeline credential secrets, e.g. `sluice/prod/`. */
  readonly secretPrefix: string;
}

/** Staging (this run's files under runs/, the pipeline's published specs) and the database secret. */
export function grantRunFiles(role: LeastPrivilegeRole, run: PipelineRunResources): void {
  const bucket = run.stagingBucket;
  role.addWildcardStatement(
    'Run files live under runs/<runId>/ in staging; run ids are created at run time',
    new iam.PolicyStatement({
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
      resources: [bucket.arnForObjects(`${RUNS_PREFIX}*`)],
    }),
  );
  role.addWildcardStatement(
    `Published specs of ${run.pipeline}: content-addressed keys specs/${run.pipeline}/<sha256>.json`,
    new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: [bucket.arnForObjects(`specs/${run.pipeline}/*`)],
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
      resources: [run.encryptionKey.keyArn],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['secretsmanager:GetSecretValue'],
      resources: [run.databaseSecret.secretArn],
    }),
  );
}

/** Read the spec's S3 source: objects under its prefix, and listings of that prefix. */
export function grantSourceRead(
  role: LeastPrivilegeRole,
  source: { bucket: string; prefix: string },
  run: PipelineRunResources,
): void {
  const inLanding = source.bucket === run.landingBucket.bucketName;
  const bucketArn = inLanding ? run.landingBucket.bucketArn : `arn:${Aws.PARTITION}:s3:::${source.bucket}`;
  role.addWildcardStatement(
    `The source objects of ${run.pipeline} are whatever lands under its source prefix (${source.prefix || 'the bucket root'}): the grant is that prefix`,
    new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [`${bucketArn}/${source.prefix}*`] }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${source.prefix}*`] } },
    }),
  );
  if (inLanding) {
    // Uploads are encrypted with the stage key by the landing bucket's default encryption.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [run.encryptionKey.keyArn] }),
    );
  }
}

/** GetSecretValue on `<prefix><name>` for each name; `-??????` is the random suffix Secrets Manager appends. */
export function grantSecrets(role: LeastPrivilegeRole, run: PipelineRunResources, names: string[]): void {
  if (names.length === 0) return;
  const stack = Stack.of(role);
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['secretsmanager:GetSecretValue'],
      resources: names.map((name) =>
        stack.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: `${run.secretPrefix}${name}-??????`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ),
    }),
  );
}
