// The bucket the audit chain's head is anchored in (S3 Object Lock), and the only grant writers get on it.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.js';
import { AUDIT_ANCHOR_PREFIX } from '../naming.js';
import type { LeastPrivilegeRole } from './least-privilege-role.js';

/** Where anchored heads are written (functions/adapters/audit-anchor/s3-object-lock.ts's default prefix). */
export { AUDIT_ANCHOR_PREFIX };

export interface AuditAnchorBucketProps {
  /**
   * COMPLIANCE: no one, the account root included, can delete an anchored head or shorten its lock
   * before it expires. GOVERNANCE: principals granted s3:BypassGovernanceRetention can (for a
   * disposable stage that must be torn down).
   * @default 'COMPLIANCE'
   */
  readonly mode?: 'COMPLIANCE' | 'GOVERNANCE';
  /**
   * How long each anchored head is locked (the bucket default and what the writer asks for).
   * @default 2557 (7 years)
   */
  readonly retentionDays?: number;
  /** Server access logs go here, under `audit-anchor/`. */
  readonly accessLogs: s3.IBucket;
}

/**
 * A versioned bucket with S3 Object Lock: every anchored head is a new, locked object version, so a
 * rewritten audit chain cannot hide behind a new head. Retained whatever the stage's removal policy (a
 * bucket with locked versions cannot be emptied anyway). SSE-S3: the objects are hashes and sequence
 * numbers, not data, and writers then need no KMS grant besides PutObject and PutObjectRetention.
 */
export class AuditAnchorBucket extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly mode: 'COMPLIANCE' | 'GOVERNANCE';
  public readonly retentionDays: number;

  constructor(scope: Construct, id: string, props: AuditAnchorBucketProps) {
    super(scope, id);
    this.mode = props.mode ?? 'COMPLIANCE';
    this.retentionDays = props.retentionDays ?? 2557;
    const retention = Duration.days(this.retentionDays);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: s3.BucketEncryption.S3_MANAGED,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention:
        this.mode === 'COMPLIANCE'
          ? s3.ObjectLockRetention.compliance(retention)
          : s3.ObjectLockRetention.governance(retention),
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: AUDIT_ANCHOR_PREFIX,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.bucket,
      {
        id: 'NIST.800.53.R5-S3DefaultEncryptionKMS',
        reason:
          'Anchored heads are a sequence number and a SHA-256 hash, not data; SSE-S3 keeps the writers to s3:PutObject and s3:PutObjectRetention with no KMS grant',
      },
      {
        id: 'NIST.800.53.R5-S3BucketReplicationEnabled',
        reason:
          'Object Lock protects the anchors where they are; verify reads this bucket, and a replica would be a second place to keep in step',
      },
    );
  }

  /**
   * What a commit or fail step needs to anchor a head: list the anchor folder's versions (to extend the
   * latest head), put a new object with its lock. No delete, no overwrite of a lock, no bypass.
   */
  public grantAnchorWrite(role: LeastPrivilegeRole): void {
    role.addWildcardStatement(
      'Each anchored head is a new object whose key holds its sequence number and hash, known only at run time; the grant is limited to the audit-anchor/ prefix, and to putting objects (no delete, no retention change beyond the put)',
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:PutObjectRetention'],
        resources: [this.bucket.arnForObjects(`${AUDIT_ANCHOR_PREFIX}*`)],
      }),
    );
    this.grantAnchorRead(role);
  }

  /** What `sluice audit verify` needs: list the versions of the anchor folder. */
  public grantAnchorRead(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucketVersions'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${AUDIT_ANCHOR_PREFIX}*`] } },
      }),
    );
  }
}
