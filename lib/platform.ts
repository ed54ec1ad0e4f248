import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { StageConfig } from './config.js';
import type { AuditAnchorBucket } from './constructs/audit-anchor-bucket.js';
import type { ChunkWorkerImage } from './constructs/chunk-worker.js';
import type { SluiceMigrations } from './constructs/migrations.js';
import type { WarehouseDatabase } from './constructs/warehouse-database.js';

/** What a pipeline uses of its stage's platform. */
export interface SluicePlatform {
  readonly stage: string;
  readonly config: StageConfig;
  readonly encryptionKey: kms.IKey;
  readonly vpc: ec2.IVpc;
  /** Where functions and worker tasks run: with a route out when the stage has egress. */
  readonly computeSubnets: ec2.SubnetSelection;
  /** Group of every function and worker task: admitted by the RDS Proxy and the VPC endpoints. */
  readonly computeSecurityGroup: ec2.ISecurityGroup;
  readonly stagingBucket: s3.IBucket;
  /** Uploads: relative source locations resolve here in AWS, and S3 triggers of such pipelines watch it. */
  readonly landingBucket: s3.IBucket;
  /** Where commit and fail anchor the audit chain's head (S3 Object Lock). */
  readonly auditAnchor: AuditAnchorBucket;
  readonly database: WarehouseDatabase;
  readonly migrations: SluiceMigrations;
  readonly cluster: ecs.ICluster;
  readonly workerImage: ChunkWorkerImage;
  readonly alarmTopic: sns.ITopic;
  readonly eventBus: events.IEventBus;
  /** Prefix of pipeline credential secrets, e.g. `sluice/prod/`. */
  readonly secretPrefix: string;
  /** CloudWatch namespace of the Powertools metrics. */
  readonly metricsNamespace: string;
}
