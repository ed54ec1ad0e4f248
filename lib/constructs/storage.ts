import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.js';
import { RUNS_PREFIX } from '../naming.js';

export interface SluiceStorageProps {
  /** Encrypts every object of the staging and landing buckets (SSE-KMS with an S3 bucket key). */
  readonly encryptionKey: kms.IKey;
  /**
   * Days a run's files under `runs/` (manifests, item lists, rejects) are kept: redrive needs them.
   * @default 14
   */
  readonly runFilesDays?: number;
  /**
   * Days server access logs are kept.
   * @default 90
   */
  readonly accessLogDays?: number;
  /**
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const REPLICATION_REASON =
  'Sluice buckets hold transient run files, uploads that are loaded into Aurora (which has its own backups) and specs rebuilt from git by any deploy; a cross-region replica would double storage with nothing to recover';

/**
 * The stage's buckets: `staging` (published specs under `specs/`, content-addressed and kept; run files
 * under `runs/<runId>/`, expired), `landing` (where uploads arrive: a pipeline whose source location is
 * a relative folder reads it from here, and its S3 trigger watches it), and `accessLogs` (server access
 * logs of both). All TLS only, no public access, versioned.
 */
export class SluiceStorage extends Construct {
  public readonly staging: s3.Bucket;
  public readonly landing: s3.Bucket;
  public readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: SluiceStorageProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const secure = {
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy,
    } satisfies s3.BucketProps;

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      ...secure,
      // S3 server access logging can only deliver to a bucket encrypted with SSE-S3.
      encryption: s3.BucketEncryption.S3_MANAGED,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(props.accessLogDays ?? 90),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    acknowledge(
      this.accessLogs,
      { id: 'AwsSolutions-S1', reason: 'This is the access-log bucket; logging it to itself would loop' },
      {
        id: 'NIST.800.53.R5-S3BucketLoggingEnabled',
        reason: 'This is the access-log bucket; logging it to itself would loop',
      },
      {
        id: 'NIST.800.53.R5-S3DefaultEncryptionKMS',
        reason:
          'S3 server access logging delivers only to buckets with SSE-S3 default encryption, not SSE-KMS',
      },
      { id: 'NIST.800.53.R5-S3BucketReplicationEnabled', reason: REPLICATION_REASON },
    );

    const encrypted = {
      ...secure,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      serverAccessLogsBucket: this.accessLogs,
    } satisfies s3.BucketProps;
    const oldVersions: s3.LifecycleRule = {
      id: 'expire-old-versions',
      noncurrentVersionExpiration: Duration.days(30),
      expiredObjectDeleteMarker: true,
      abortIncompleteMultipartUploadAfter: Duration.days(1),
    };

    this.staging = new s3.Bucket(this, 'Staging', {
      ...encrypted,
      serverAccessLogsPrefix: 'staging/',
      lifecycleRules: [
        {
          id: 'expire-run-files',
          prefix: RUNS_PREFIX,
          expiration: Duration.days(props.runFilesDays ?? 14),
          noncurrentVersionExpiration: Duration.days(1),
        },
        oldVersions,
      ],
    });

    this.landing = new s3.Bucket(this, 'Landing', {
      ...encrypted,
      serverAccessLogsPrefix: 'landing/',
      lifecycleRules: [oldVersions],
    });
    // Object Created events go to EventBridge natively (no notification custom resource).
    (this.landing.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };

    for (const bucket of [this.staging, this.landing]) {
      acknowledge(bucket, { id: 'NIST.800.53.R5-S3BucketReplicationEnabled', reason: REPLICATION_REASON });
    }
  }
}
