import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.js';
import { LeastPrivilegeRole } from './least-privilege-role.js';

export interface WarehouseDatabaseProps {
  readonly vpc: ec2.IVpc;
  /** Encrypts storage, Performance Insights, logs and the admin secret. */
  readonly encryptionKey: kms.IKey;
  /** Fixed cluster identifier, so the PostgreSQL log group has a known name. */
  readonly clusterIdentifier: string;
  /** The interface endpoint the secret rotation function calls Secrets Manager through. */
  readonly secretsManagerEndpoint: ec2.IInterfaceVpcEndpoint;
  /**
   * Aurora Serverless v2 capacity range in ACUs; a minimum of 0 lets the cluster pause when idle.
   * @default { min: 0.5, max: 8 }
   */
  readonly capacity?: { readonly min: number; readonly max: number };
  /**
   * Serverless v2 readers besides the writer.
   * @default 0
   */
  readonly readers?: number;
  /**
   * @default Duration.days(7)
   */
  readonly backupRetention?: Duration;
  /**
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * @default RemovalPolicy.SNAPSHOT
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How often the admin password rotates.
   * @default Duration.days(30)
   */
  readonly rotationInterval?: Duration;
}

const POSTGRES_PORT_NUMBER = 5432;
const POSTGRES_PORT = ec2.Port.tcp(POSTGRES_PORT_NUMBER);
/** Characters left out of generated passwords: they break connection strings and shell quoting. */
const PASSWORD_EXCLUDED_CHARACTERS = ' %+~`#$&*()|[]{}:;<>?!\'/@"\\';

/** The database every pipeline loads into, and its admin user. */
export const DATABASE_NAME = 'sluice';
export const ADMIN_USER = 'sluice_admin';
/** The runtime logins, members of the sluice_loader / sluice_reader / sluice_auditor groups. */
export const LOGIN_USERS = {
  loader: 'sluice_loader_login',
  reader: 'sluice_reader_login',
  auditor: 'sluice_auditor_login',
} as const;

/**
 * Aurora PostgreSQL Serverless v2: encrypted with the stage key, IAM authentication on, TLS forced,
 * PostgreSQL logs and enhanced monitoring, automated backups, its admin secret rotated, and an RDS Proxy
 * in front for connection pooling (Lambda opens many short-lived connections), which runs log in to as
 * the loader login.
 */
export class WarehouseDatabase extends Construct {
  public readonly cluster: rds.DatabaseCluster;
  public readonly proxy: rds.DatabaseProxy;
  /** Admin credentials: `{ host, port, username, password, dbname }`. */
  public readonly adminSecret: secretsmanager.ISecret;
  /** Clients of the proxy (functions, worker tasks) join this group. */
  public readonly proxySecurityGroup: ec2.SecurityGroup;
  public readonly clusterSecurityGroup: ec2.SecurityGroup;
  /** The rotation function's group: it needs the Secrets Manager endpoint. */
  public readonly rotationSecurityGroup: ec2.SecurityGroup;
  /**
   * One secret per runtime login (`{ username, password, host, port, dbname, engine }`), KMS-encrypted
   * and rotated (single user): the migration custom resource creates the logins from them.
   */
  public readonly loginSecrets: Record<'loader' | 'reader' | 'auditor', secretsmanager.ISecret>;
  /** The rotation schedules of the login secrets: their first rotation needs the login to exist. */
  public readonly loginRotations: secretsmanager.SecretRotation[] = [];

  constructor(scope: Construct, id: string, props: WarehouseDatabaseProps) {
    super(scope, id);
    const isolated: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    const capacity = props.capacity ?? { min: 0.5, max: 8 };

    this.clusterSecurityGroup = new ec2.SecurityGroup(this, 'ClusterSecurityGroup', {
      vpc: props.vpc,
      description:
        'Aurora cluster: PostgreSQL from the RDS Proxy, the migration function and secret rotation only',
      allowAllOutbound: false,
    });
    this.proxySecurityGroup = new ec2.SecurityGroup(this, 'ProxySecurityGroup', {
      vpc: props.vpc,
      description: 'RDS Proxy: PostgreSQL from the functions and the chunk worker',
      allowAllOutbound: false,
    });

    // Created first with a known name so Aurora writes into an encrypted group with a retention.
    const postgresLogs = new logs.LogGroup(this, 'PostgresLogs', {
      logGroupName: `/aws/rds/cluster/${props.clusterIdentifier}/postgresql`,
      encryptionKey: props.encryptionKey,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const monitoringRole = new LeastPrivilegeRole(this, 'MonitoringRole', {
      assumedBy: new iam.ServicePrincipal('monitoring.rds.amazonaws.com'),
      description: 'RDS enhanced monitoring: OS metrics to the RDSOSMetrics log group',
    });
    const stack = Stack.of(this);
    const osMetrics = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: 'RDSOSMetrics',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    monitoringRole.addWildcardStatement(
      'Enhanced monitoring writes OS metrics to log streams named after each instance resource id, created at run time (same scope as AmazonRDSEnhancedMonitoringRole, minus its other log groups)',
      new iam.PolicyStatement({
        actions: [
          'logs:CreateLogGroup',
          'logs:PutRetentionPolicy',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'logs:DescribeLogStreams',
        ],
        resources: [osMetrics, `${osMetrics}:log-stream:*`],
      }),
    );

    const engine = rds.DatabaseClusterEngine.auroraPostgres({
      version: rds.AuroraPostgresEngineVersion.VER_16_8,
    });
    const parameterGroup = new rds.ParameterGroup(this, 'Parameters', {
      engine,
      description: 'Sluice: TLS only, slow statements and DDL logged',
      parameters: {
        'rds.force_ssl': '1',
        log_statement: 'ddl',
        log_min_duration_statement: '5000',
      },
    });

    const instanceDefaults = {
      enablePerformanceInsights: true,
      performanceInsightEncryptionKey: props.encryptionKey,
      autoMinorVersionUpgrade: true,
    };
    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      clusterIdentifier: props.clusterIdentifier,
      engine,
      parameterGroup,
      defaultDatabaseName: DATABASE_NAME,
      credentials: rds.Credentials.fromGeneratedSecret(ADMIN_USER, {
        encryptionKey: props.encryptionKey,
        excludeCharacters: PASSWORD_EXCLUDED_CHARACTERS,
      }),
      port: POSTGRES_PORT_NUMBER,
      writer: rds.ClusterInstance.serverlessV2('Writer', instanceDefaults),
      readers: Array.from({ length: props.readers ?? 0 }, (_, i) =>
        rds.ClusterInstance.serverlessV2(`Reader${i + 1}`, { ...instanceDefaults, scaleWithWriter: true }),
      ),
      serverlessV2MinCapacity: capacity.min,
      serverlessV2MaxCapacity: capacity.max,
      ...(capacity.min === 0 ? { serverlessV2AutoPauseDuration: Duration.minutes(30) } : {}),
      vpc: props.vpc,
      vpcSubnets: isolated,
      securityGroups: [this.clusterSecurityGroup],
      storageEncrypted: true,
      storageEncryptionKey: props.encryptionKey,
      iamAuthentication: true,
      backup: { retention: props.backupRetention ?? Duration.days(7), preferredWindow: '02:00-03:00' },
      preferredMaintenanceWindow: 'sun:04:00-sun:05:00',
      copyTagsToSnapshot: true,
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.SNAPSHOT,
      cloudwatchLogsExports: ['postgresql'],
      // The RDS Data API: the CLI and UI read a deployed stage's ledger over HTTPS as the reader login.
      enableDataApi: true,
      monitoringInterval: Duration.seconds(60),
      monitoringRole,
    });
    this.cluster.node.addDependency(postgresLogs);
    this.adminSecret = this.cluster.secret!;

    this.rotationSecurityGroup = new ec2.SecurityGroup(this, 'RotationSecurityGroup', {
      vpc: props.vpc,
      description: 'Admin secret rotation function: Aurora and the Secrets Manager endpoint',
      allowAllOutbound: true,
    });
    // Built here rather than with cluster.addRotationSingleUser, whose ingress rule carries the port as
    // a token that security-group checks cannot read.
    // Single-user rotation (each login changes its own password) from the isolated subnets.
    const rotation = (id: string, secret: secretsmanager.ISecret) =>
      new secretsmanager.SecretRotation(this, id, {
        application: secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER,
        secret,
        target: {
          connections: new ec2.Connections({
            securityGroups: [this.clusterSecurityGroup],
            defaultPort: POSTGRES_PORT,
          }),
        },
        vpc: props.vpc,
        vpcSubnets: isolated,
        securityGroup: this.rotationSecurityGroup,
        endpoint: props.secretsManagerEndpoint,
        automaticallyAfter: props.rotationInterval ?? Duration.days(30),
        excludeCharacters: PASSWORD_EXCLUDED_CHARACTERS,
      });
    rotation('AdminSecretRotation', this.adminSecret);
    // The first rotation runs as soon as the schedule exists: it must find a writer that accepts
    // connections, not only the cluster resource (which is complete before any instance is).
    // (The schedule lives under the cluster's secret attachment, so it depends on the instances only.)
    const instances = this.cluster.node.findAll().filter((c) => c instanceof rds.CfnDBInstance);
    for (const schedule of this.cluster.node
      .findAll()
      .filter((c) => c instanceof secretsmanager.CfnRotationSchedule)) {
      schedule.node.addDependency(...instances);
    }
    // A retained cluster keeps its data and its admin login: keep the password that opens it.
    // (cluster.secret is the target attachment; the secret itself is the cluster's generated child.)
    if ((props.removalPolicy ?? RemovalPolicy.SNAPSHOT) === RemovalPolicy.RETAIN) {
      for (const secret of this.cluster.node.findAll().filter((c) => c instanceof secretsmanager.CfnSecret)) {
        secret.applyRemovalPolicy(RemovalPolicy.RETAIN);
      }
    }

    const loginSecret = (id: string, username: string) => {
      const secret = new rds.DatabaseSecret(this, id, {
        username,
        dbname: DATABASE_NAME,
        encryptionKey: props.encryptionKey,
        excludeCharacters: PASSWORD_EXCLUDED_CHARACTERS,
      });
      // A retained cluster keeps its logins: keep the passwords that open them.
      if ((props.removalPolicy ?? RemovalPolicy.SNAPSHOT) === RemovalPolicy.RETAIN)
        secret.applyRemovalPolicy(RemovalPolicy.RETAIN);
      const attached = secret.attach(this.cluster);
      this.loginRotations.push(rotation(`${id}Rotation`, attached));
      for (const schedule of attached.node
        .findAll()
        .filter((c) => c instanceof secretsmanager.CfnRotationSchedule))
        schedule.node.addDependency(...instances);
      return attached;
    };
    this.loginSecrets = {
      loader: loginSecret('LoaderSecret', LOGIN_USERS.loader),
      reader: loginSecret('ReaderSecret', LOGIN_USERS.reader),
      auditor: loginSecret('AuditorSecret', LOGIN_USERS.auditor),
    };

    const proxyRole = new LeastPrivilegeRole(this, 'ProxyRole', {
      assumedBy: new iam.ServicePrincipal('rds.amazonaws.com'),
      description: 'RDS Proxy: read the loader login secret to open pooled connections',
    });
    // The proxy targets the cluster through a reference with a literal port: the rule the proxy adds to
    // the cluster's group then says 5432, which security-group checks can read (a token port they cannot).
    const clusterWithLiteralPort = rds.DatabaseCluster.fromDatabaseClusterAttributes(
      this,
      'ClusterForProxy',
      {
        clusterIdentifier: this.cluster.clusterIdentifier,
        port: POSTGRES_PORT_NUMBER,
        securityGroups: [this.clusterSecurityGroup],
        engine,
      },
    );
    this.proxy = new rds.DatabaseProxy(this, 'Proxy', {
      proxyTarget: rds.ProxyTarget.fromCluster(clusterWithLiteralPort),
      dbProxyName: props.clusterIdentifier,
      vpc: props.vpc,
      vpcSubnets: isolated,
      securityGroups: [this.proxySecurityGroup],
      // Runs log in through the proxy as the loader login only: the admin's secret is the migrations'
      // alone (they connect to the cluster endpoint directly), so the proxy role never reads it.
      secrets: [this.loginSecrets.loader],
      role: proxyRole,
      requireTLS: true,
      iamAuth: false,
      debugLogging: false,
      borrowTimeout: Duration.seconds(30),
      maxConnectionsPercent: 90,
    });
    // The target group needs the writer up, not just the cluster resource.
    this.proxy.node.addDependency(this.cluster);
    this.proxySecurityGroup.addEgressRule(this.clusterSecurityGroup, POSTGRES_PORT, 'RDS Proxy to Aurora');

    if (props.deletionProtection === false) {
      const reason =
        "Deletion protection is turned off by this stage's configuration (database.deletionProtection: false), for a disposable stage such as dev; the removal policy still decides whether a final snapshot is kept";
      acknowledge(
        this.cluster,
        { id: 'AwsSolutions-RDS10', reason },
        { id: 'NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled', reason },
      );
    }
    acknowledge(this.cluster, {
      id: 'AwsSolutions-RDS11',
      reason:
        'The cluster is reachable only from its own security groups in isolated subnets; clients and tools expect 5432, and a non-default port adds no protection there',
    });
    acknowledge(this.cluster, {
      id: 'NIST.800.53.R5-RDSInBackupPlan',
      reason:
        'Aurora automated backups with point-in-time recovery (retention from the stage config) protect the cluster; an AWS Backup plan would duplicate them',
    });
  }

  /** Admits a group to Aurora on 5432 (the proxy, and the migration function that runs DDL directly). */
  public allowClusterFrom(peer: ec2.ISecurityGroup, description: string): void {
    this.clusterSecurityGroup.addIngressRule(peer, POSTGRES_PORT, description);
  }
}
