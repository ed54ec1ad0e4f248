import { CustomResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.js';
import { LeastPrivilegeRole } from './least-privilege-role.js';
import { type LogLevel, SluiceFunction } from './sluice-function.js';

export interface SluiceMigrationsProps {
  readonly vpc: ec2.IVpc;
  /** The function's group: the database admits it on 5432 directly (not through the proxy). */
  readonly securityGroup: ec2.ISecurityGroup;
  readonly encryptionKey: kms.IKey;
  /** Admin credentials of the cluster; migrations run as the admin. */
  readonly adminSecret: secretsmanager.ISecret;
  /**
   * Secrets of the runtime logins the migrations create (each `{ username, password, … }`).
   * @default - no logins are created
   */
  readonly loginSecrets?: Partial<Record<'loader' | 'reader' | 'auditor', secretsmanager.ISecret>>;
  /** Where pipeline specs are published (`specs/<pipeline>/<hash>.json`). */
  readonly stagingBucket: s3.IBucket;
  readonly serviceName: string;
  readonly metricsNamespace: string;
  /**
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * @default 'INFO'
   */
  readonly logLevel?: LogLevel;
}

/** Custom resource types the migration function handles (functions/handlers/migrate.ts). */
export const INTERNAL_SCHEMA_RESOURCE_TYPE = 'Custom::SluiceInternalSchema';
export const PIPELINE_RELEASE_RESOURCE_TYPE = 'Custom::SluicePipelineRelease';

/**
 * Deploy-time database changes through a CloudFormation custom resource (Provider framework): the
 * internal schema's versioned migrations (recorded in `sluice.schema_migrations`), then, per pipeline,
 * the published spec and its partitioned target table. A failed migration fails the deploy, which rolls
 * back before any state machine points at a spec whose table could not be made.
 */
export class SluiceMigrations extends Construct {
  public readonly function: SluiceFunction;
  public readonly provider: cr.Provider;
  /** Applies the internal migrations; pipelines depend on it. */
  public readonly internalSchema: CustomResource;

  constructor(scope: Construct, id: string, props: SluiceMigrationsProps) {
    super(scope, id);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    this.function = new SluiceFunction(this, 'Function', {
      handler: 'migrate',
      description:
        'Sluice migrations: internal schema, pipeline specs and target tables (CloudFormation custom resource)',
      invocation: { kind: 'synchronous', caller: 'the CloudFormation custom resource provider framework' },
      vpc: props.vpc,
      securityGroups: [props.securityGroup],
      encryptionKey: props.encryptionKey,
      // Straight to the cluster endpoint in the secret: the proxy may still be registering its target
      // during the first deploy, and DDL gains nothing from pooling.
      environment: {
        SLUICE_DATABASE_SECRET_ARN: props.adminSecret.secretArn,
        SLUICE_STAGING_BUCKET: props.stagingBucket.bucketName,
        ...(props.loginSecrets
          ? {
              SLUICE_LOGIN_SECRET_ARNS: Stack.of(this).toJsonString(
                Object.fromEntries(Object.entries(props.loginSecrets).map(([g, s]) => [g, s.secretArn])),
              ),
            }
          : {}),
      },
      serviceName: props.serviceName,
      metricsNamespace: props.metricsNamespace,
      memorySize: 512,
      timeout: Duration.minutes(10),
      unreservedConcurrencyReason:
        'Runs only during deployments, once per custom resource change; its connections are bounded by the number of pipelines, and a reservation would only throttle parallel nested-stack updates',
      logRetention,
      ...(props.logLevel ? { logLevel: props.logLevel } : {}),
      trustRdsCertificates: true,
    });
    const role = this.function.role;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [
          props.adminSecret.secretArn,
          ...Object.values(props.loginSecrets ?? {}).map((s) => s.secretArn),
        ],
      }),
    );
    role.addWildcardStatement(
      'Publishes pipeline specs under specs/<pipeline>/<sha256>.json; the key names are content hashes known only per deploy',
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [props.stagingBucket.arnForObjects('specs/*')],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kms:GenerateDataKey'], resources: [props.encryptionKey.keyArn] }),
    );

    const frameworkLogs = new logs.LogGroup(this, 'ProviderLogs', {
      encryptionKey: props.encryptionKey,
      retention: logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const frameworkRole = new LeastPrivilegeRole(this, 'ProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Sluice migrations: custom resource provider framework',
      knownWildcards: [
        {
          actions: ['lambda:InvokeFunction'],
          reason:
            'The provider framework invokes the migration function; CDK grants its unqualified ARN and its versions (:*), nothing else',
        },
      ],
    });
    frameworkLogs.grantWrite(frameworkRole);
    props.encryptionKey.grantDecrypt(frameworkRole);
    this.provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.function.function,
      frameworkOnEventRole: frameworkRole,
      logGroup: frameworkLogs,
      providerFunctionEnvEncryption: props.encryptionKey,
    });
    acknowledgeProviderFramework(this.provider);

    this.internalSchema = new CustomResource(this, 'InternalSchema', {
      serviceToken: this.provider.serviceToken,
      resourceType: INTERNAL_SCHEMA_RESOURCE_TYPE,
      // A new bundle (new migrations) changes the key, so CloudFormation sends an Update that applies them.
      properties: { Kind: 'internal-schema', Code: codeVersion(this.function.function) },
    });
  }
}

/** The S3 key of a function's code asset: changes whenever its bundle changes. */
export function codeVersion(fn: lambda.Function): string {
  const code = (fn.node.defaultChild as lambda.CfnFunction).code as lambda.CfnFunction.CodeProperty;
  return code.s3Key ?? 'inline';
}

function acknowledgeProviderFramework(provider: cr.Provider): void {
  const framework = provider.node.findChild('framework-onEvent');
  const relay =
    'CDK provider framework function: it only relays CloudFormation events to the migration function (which runs in the VPC, traced, with its own alarms)';
  acknowledge(
    framework,
    { id: 'AwsSolutions-L1', reason: `${relay}; its runtime is chosen and upgraded by aws-cdk-lib` },
    {
      id: 'Serverless-LambdaLatestVersion',
      reason: `${relay}; its runtime is chosen and upgraded by aws-cdk-lib`,
    },
    {
      id: 'NIST.800.53.R5-LambdaInsideVPC',
      reason: `${relay}; outside the VPC it reaches the Lambda API and the CloudFormation response URL without a NAT gateway`,
    },
    {
      id: 'Serverless-LambdaTracing',
      reason: `${relay}; a trace of the relay adds nothing to the migration function's trace`,
    },
    { id: 'NIST.800.53.R5-LambdaConcurrency', reason: `${relay}; it runs only during deployments` },
    {
      id: 'NIST.800.53.R5-LambdaDLQ',
      reason: `${relay}; CloudFormation invokes it synchronously and fails the deploy on error`,
    },
    {
      id: 'Serverless-LambdaDLQ',
      reason: `${relay}; CloudFormation invokes it synchronously and fails the deploy on error`,
    },
    {
      id: 'Serverless-LambdaAsyncFailureDestination',
      reason: `${relay}; CloudFormation invokes it synchronously and fails the deploy on error`,
    },
    { id: 'Serverless-LambdaDefaultMemorySize', reason: `${relay}; aws-cdk-lib sizes it` },
  );
}
