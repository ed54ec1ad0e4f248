// One stage's platform stack: network, key, storage, database, migrations, roles, the outputs the CLI reads, a nested stack per pipeline (wiring only; its outputs are in stage-outputs.ts).
import { Aws, Duration, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { pipelineNetworkNeed } from '../functions/tooling/source-network.js';
import { STAGES_CONTEXT_KEY, type StageConfig } from './config.js';
import { AuditAnchorBucket } from './constructs/audit-anchor-bucket.js';
import { ChunkWorkerImage } from './constructs/chunk-worker.js';
import { SluiceMigrations } from './constructs/migrations.js';
import { SluiceNetwork } from './constructs/network.js';
import { OperatorRoles } from './constructs/operator-roles.js';
import { PipelineConfigError } from './constructs/pipeline.js';
import { SluiceStorage } from './constructs/storage.js';
import { WarehouseDatabase } from './constructs/warehouse-database.js';
import { acknowledge } from './nag.js';
import {
  eventBusName,
  metricsNamespace,
  operatorRoleName,
  platformStackName,
  secretPrefix,
  stateMachineName,
  viewerRoleName,
} from './naming.js';
import { type PipelineDefinition, SluicePipelineStack } from './pipeline-stack.js';
import type { SluicePlatform } from './platform.js';
import { toRetentionDays } from './retention.js';
import { addRoleOutputs, addStageOutputs } from './stage-outputs.js';

export interface SluicePlatformStackProps extends StackProps {
  readonly stage: string;
  readonly config: StageConfig;
  /**
   * The validated pipeline specs: one nested stack (state machine and its resources) each.
   * @default - no pipelines: the platform alone
   */
  readonly pipelines?: PipelineDefinition[];
}

const removal = (policy: 'retain' | 'destroy' | 'snapshot') =>
  policy === 'destroy'
    ? RemovalPolicy.DESTROY
    : policy === 'snapshot'
      ? RemovalPolicy.SNAPSHOT
      : RemovalPolicy.RETAIN;

/** Rotation schedules of the runtime login secrets (not the admin's), by construct path. */
const isLoginSchedule = (path: string) => /\/(Loader|Reader|Auditor)Secret\//.test(path);

/** A stage config principal: an account id (its IAM policies decide) or an IAM ARN. */
const toPrincipal = (principal: string): iam.IPrincipal =>
  /^\d{12}$/.test(principal) ? new iam.AccountPrincipal(principal) : new iam.ArnPrincipal(principal);

/**
 * The platform of one stage: network, key, staging, database, migrations, the Fargate cluster, the
 * alarm topic, the run event bus, the operator and viewer roles; and one nested stack per pipeline.
 * Env-agnostic: synth needs no account, credentials, network or Docker.
 */
export class SluicePlatformStack extends Stack implements SluicePlatform {
  public readonly stage: string;
  public readonly config: StageConfig;
  public readonly encryptionKey: kms.Key;
  public readonly network: SluiceNetwork;
  public readonly vpc: ec2.IVpc;
  public readonly computeSubnets: ec2.SubnetSelection;
  public readonly computeSecurityGroup: ec2.SecurityGroup;
  public readonly storage: SluiceStorage;
  public readonly stagingBucket: s3.Bucket;
  public readonly landingBucket: s3.Bucket;
  public readonly auditAnchor: AuditAnchorBucket;
  public readonly database: WarehouseDatabase;
  public readonly migrations: SluiceMigrations;
  public readonly cluster: ecs.Cluster;
  public readonly workerImage: ChunkWorkerImage;
  public readonly alarmTopic: sns.Topic;
  public readonly eventBus: events.EventBus;
  public readonly secretPrefix: string;
  public readonly metricsNamespace: string;
  public readonly pipelines: SluicePipelineStack[] = [];
  /** `sluice-<stage>-operator`: start, stop, redrive and read the runs of the stage's pipelines. */
  public readonly operatorRole: iam.IRole;
  /** `sluice-<stage>-viewer`: read the runs of the stage's pipelines, their summaries and rejects. */
  public readonly viewerRole: iam.IRole;

  constructor(scope: Construct, id: string, props: SluicePlatformStackProps) {
    super(scope, id, {
      stackName: platformStackName(props.stage),
      description: `Sluice ${props.stage}: serverless ETL into partitioned Aurora PostgreSQL, one state machine per pipeline`,
      terminationProtection: props.stage !== 'dev',
      ...props,
    });
    const { stage, config } = props;
    this.stage = stage;
    this.config = config;
    this.secretPrefix = secretPrefix(stage);
    this.metricsNamespace = metricsNamespace(stage);
    Tags.of(this).add('sluice:stage', stage);
    const logRetention = toRetentionDays(config.retention.logDays);

    this.encryptionKey = new kms.Key(this, 'Key', {
      alias: `alias/sluice-${stage}`,
      description: `Sluice ${stage}: staging, database, secrets, logs, alarms and queues`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: removal(config.removalPolicies.key),
    });
    this.allowServicesToUseKey();

    this.network = new SluiceNetwork(this, 'Network', {
      encryptionKey: this.encryptionKey,
      flowLogRetention: logRetention,
      endpointsInEveryAz: config.network.endpointsInEveryAz,
      egress: config.network.egress,
    });
    this.vpc = this.network.vpc;
    this.computeSubnets = this.network.computeSubnets;
    // Egress is what the stage's sources need and nothing else: HTTPS (AWS APIs through the endpoints,
    // S3 through the gateway endpoint, HTTP sources through NAT), PostgreSQL to the proxy, and each
    // database source's port to the configured CIDRs (added per pipeline below).
    this.computeSecurityGroup = new ec2.SecurityGroup(this, 'ComputeSecurityGroup', {
      vpc: this.vpc,
      description: 'Sluice functions and chunk worker tasks',
      allowAllOutbound: false,
    });
    this.computeSecurityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS: AWS APIs (VPC endpoints, S3 gateway) and HTTP sources',
    );

    this.storage = new SluiceStorage(this, 'Storage', {
      encryptionKey: this.encryptionKey,
      runFilesDays: config.retention.stagingDays,
      accessLogDays: config.retention.accessLogDays,
      removalPolicy: removal(config.removalPolicies.buckets),
    });
    this.stagingBucket = this.storage.staging;
    this.landingBucket = this.storage.landing;
    this.auditAnchor = new AuditAnchorBucket(this, 'AuditAnchor', {
      mode: config.audit.anchorMode,
      retentionDays: config.audit.anchorRetentionDays,
      accessLogs: this.storage.accessLogs,
    });

    this.database = new WarehouseDatabase(this, 'Database', {
      vpc: this.vpc,
      encryptionKey: this.encryptionKey,
      clusterIdentifier: `sluice-${stage}`,
      secretsManagerEndpoint: this.network.interfaceEndpoints.SecretsManager,
      capacity: { min: config.database.minCapacity, max: config.database.maxCapacity },
      readers: config.database.readers,
      backupRetention: Duration.days(config.database.backupRetentionDays),
      deletionProtection: config.database.deletionProtection,
      removalPolicy: removal(config.database.removalPolicy),
      logRetention,
    });
    this.database.proxySecurityGroup.addIngressRule(
      this.computeSecurityGroup,
      ec2.Port.tcp(5432),
      'Functions and worker to RDS Proxy',
    );
    this.computeSecurityGroup.addEgressRule(
      this.database.proxySecurityGroup,
      ec2.Port.tcp(5432),
      'Functions and worker to RDS Proxy',
    );

    const migrationSecurityGroup = new ec2.SecurityGroup(this, 'MigrationSecurityGroup', {
      vpc: this.vpc,
      description: 'Sluice migration function: Aurora directly, and the VPC endpoints',
      allowAllOutbound: true,
    });
    this.database.allowClusterFrom(migrationSecurityGroup, 'Migrations to Aurora');
    for (const [group, description] of [
      [this.computeSecurityGroup, 'Functions and worker tasks to AWS APIs'],
      [migrationSecurityGroup, 'Migration function to AWS APIs'],
      [this.database.rotationSecurityGroup, 'Secret rotation to Secrets Manager'],
      [this.database.proxySecurityGroup, 'RDS Proxy to Secrets Manager'],
    ] as const) {
      this.network.allowEndpointsFrom(group, description);
    }
    // The proxy's group allows no other egress: admit its Secrets Manager calls should they use the VPC.
    this.database.proxySecurityGroup.addEgressRule(
      this.network.endpointSecurityGroup,
      ec2.Port.tcp(443),
      'RDS Proxy to the VPC endpoints',
    );
    this.migrations = new SluiceMigrations(this, 'Migrations', {
      vpc: this.vpc,
      securityGroup: migrationSecurityGroup,
      encryptionKey: this.encryptionKey,
      adminSecret: this.database.adminSecret,
      loginSecrets: this.database.loginSecrets,
      stagingBucket: this.stagingBucket,
      serviceName: 'sluice-migrations',
      metricsNamespace: this.metricsNamespace,
      logRetention,
      logLevel: config.functions.logLevel,
    });
    // Migrations need a writer that accepts connections, not just a cluster resource.
    this.migrations.internalSchema.node.addDependency(this.database.cluster);
    // A login secret's first rotation logs in as the login, which the migrations create.
    for (const schedule of this.node
      .findAll()
      .filter((c) => c instanceof secretsmanager.CfnRotationSchedule && isLoginSchedule(c.node.path))) {
      schedule.node.addDependency(this.migrations.internalSchema);
    }

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      clusterName: `sluice-${stage}`,
      vpc: this.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENHANCED,
      enableFargateCapacityProviders: true,
    });
    this.workerImage = new ChunkWorkerImage(this, 'WorkerImage');

    this.alarmTopic = new sns.Topic(this, 'Alarms', {
      topicName: `sluice-${stage}-alarms`,
      displayName: `Sluice ${stage} alarms`,
      masterKey: this.encryptionKey,
      enforceSSL: true,
    });
    config.alarms.emails.forEach((email) => {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(email));
    });
    const subscriptionsWithoutRedrive = this.alarmTopic.node.children.filter(
      (c) => c instanceof sns.Subscription,
    );
    for (const subscription of subscriptionsWithoutRedrive) {
      acknowledge(subscription, {
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'E-mail subscription: SNS retries e-mail delivery itself, and a dead-letter queue of undelivered alarm e-mails would need its own watcher',
      });
    }

    this.eventBus = new events.EventBus(this, 'RunEvents', {
      eventBusName: eventBusName(stage),
      description: `Sluice ${stage}: RunSucceeded and RunFailed of every pipeline, with counts`,
    });

    addStageOutputs(this, this);

    for (const pipeline of props.pipelines ?? []) {
      this.allowSourceEgress(pipeline);
      const nested = new SluicePipelineStack(this, `Pipeline-${pipeline.spec.name}`, {
        platform: this,
        pipeline,
      });
      // The pipeline's migration resource needs the internal schema and a reachable writer.
      nested.node.addDependency(this.migrations.internalSchema);
      this.pipelines.push(nested);
    }

    const access = new OperatorRoles(this, 'OperatorRoles', {
      stateMachineNames: (props.pipelines ?? []).map((p) => stateMachineName(stage, p.spec.name)),
      stagingBucket: this.stagingBucket,
      encryptionKey: this.encryptionKey,
      operators: config.access.operators.map(toPrincipal),
      viewers: config.access.viewers.map(toPrincipal),
      operatorRoleName: operatorRoleName(stage),
      viewerRoleName: viewerRoleName(stage),
      ledger: {
        clusterArn: this.database.cluster.clusterArn,
        readerSecret: this.database.loginSecrets.reader,
        auditorSecret: this.database.loginSecrets.auditor,
        stackName: this.stackName,
      },
    });
    this.operatorRole = access.operatorRole;
    this.viewerRole = access.viewerRole;
    // `sluice audit verify` reads the anchored heads; only commit and fail write them.
    for (const role of [this.operatorRole, this.viewerRole]) this.auditAnchor.grantAnchorRead(role);
    addRoleOutputs(this, this.operatorRole, this.viewerRole);
  }

  /**
   * Checks that the stage can reach the pipeline's source, and opens the source's ports to the
   * configured CIDRs. Fails synth, naming the pipeline, the connector and the setting, when the source
   * needs egress and the stage has none: such a pipeline would only time out in AWS.
   */
  private allowSourceEgress(pipeline: PipelineDefinition): void {
    const need = pipelineNetworkNeed(pipeline.spec);
    if (need.access === 'none') return;
    const egress = this.config.network.egress;
    const what =
      need.access === 'internet'
        ? `the internet (TCP ${need.ports.join(', ')}${need.declared ? '' : ', assumed: the connector does not declare its network'})`
        : `a database on TCP ${need.ports.join(', ')}`;
    if (egress.mode === 'none') {
      throw new PipelineConfigError(
        pipeline.spec.name,
        `source connector "${need.connector}" needs egress to ${what}, but stage "${this.stage}" has none: set ${STAGES_CONTEXT_KEY}.${this.stage}.network.egress.mode to "nat" or "existing-vpc" in cdk.json (docs/deploy.md, "Network for sources")`,
      );
    }
    if (need.access !== 'database-port') return;
    for (const port of need.ports) {
      for (const cidr of egress.sourceCidrs) {
        // Rules are de-duplicated by CDK, so pipelines sharing a port and CIDR add one rule.
        this.computeSecurityGroup.addEgressRule(
          ec2.Peer.ipv4(cidr),
          ec2.Port.tcp(port),
          `Database sources on ${port} (${need.connector})`,
        );
      }
    }
  }

  /**
   * Services that write with the stage key on Sluice's behalf: CloudWatch Logs (log groups of this
   * account and region), CloudWatch alarms (to the encrypted topic), EventBridge (to encrypted
   * dead-letter queues). The latter two act only for topics and queues configured with this key; they
   * are not conditioned further, so no delivery depends on request context a service may not send.
   */
  private allowServicesToUseKey(): void {
    const key = this.encryptionKey;
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsOfThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );
    for (const [sid, service] of [
      ['CloudWatchAlarmsToTopic', 'cloudwatch.amazonaws.com'],
      ['EventBridgeToDeadLetterQueues', 'events.amazonaws.com'],
    ] as const) {
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid,
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['*'],
        }),
      );
    }
  }
}
