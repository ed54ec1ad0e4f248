import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  connectorBundleDefines,
  type DiscoveredModules,
  findConnectorModules,
} from '../../functions/tooling/connector-discovery.js';
import { acknowledge } from '../nag.js';
import { type HandlerName, handlerEntry, LOCK_FILE, REPO_ROOT } from '../paths.js';
import { LeastPrivilegeRole } from './least-privilege-role.js';

let found: DiscoveredModules | undefined;
/** The connector modules of this checkout, listed once per synth (every pipeline function asks). */
function connectorModules(): DiscoveredModules {
  found ??= findConnectorModules(REPO_ROOT);
  return found;
}

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** Modules never bundled: PGlite is the laptop twin of Aurora, pg-native an optional binding pg never needs. */
export const EXTERNAL_MODULES = ['@electric-sql/pglite', 'pg-native'];

/** How AWS calls the function, which decides where a failed invocation goes. */
export type Invocation =
  /** A Step Functions `lambda:invoke` task or CloudFormation: the caller sees the error and retries or fails. */
  | { readonly kind: 'synchronous'; readonly caller: string }
  /** EventBridge: after Lambda's own retries, the event goes to this queue instead of being dropped. */
  | { readonly kind: 'asynchronous'; readonly onFailure: sqs.IQueue };
/** (The on-failure queue must be encrypted with the function's `encryptionKey`.) */

export interface SluiceFunctionProps {
  /** Which file of functions/handlers/ to bundle; it exports `handler`. */
  readonly handler: HandlerName;
  /** What the function does, for the Lambda console. */
  readonly description: string;
  readonly invocation: Invocation;
  readonly vpc: ec2.IVpc;
  /**
   * @default - the VPC's private isolated subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups: ec2.ISecurityGroup[];
  /** Encrypts the environment variables and the log group. */
  readonly encryptionKey: kms.IKey;
  /** The handler's environment (see functions/handlers/env.ts); Powertools and runtime variables are added. */
  readonly environment: Record<string, string>;
  /** Powertools service name: the `service` of every log line, trace and metric. */
  readonly serviceName: string;
  /** CloudWatch namespace of the function's Powertools metrics. */
  readonly metricsNamespace: string;
  /**
   * Memory in MiB.
   * @default 1024
   */
  readonly memorySize?: number;
  /**
   * @default Duration.minutes(1)
   */
  readonly timeout?: Duration;
  /**
   * Concurrent executions reserved (and capped) for the function.
   * @default - none: the function shares the account's unreserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Why the function has no reserved concurrency, required when `reservedConcurrentExecutions` is unset.
   * @default - none
   */
  readonly unreservedConcurrencyReason?: string;
  /**
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Powertools and Lambda application log level.
   * @default 'INFO'
   */
  readonly logLevel?: LogLevel;
  /**
   * Set NODE_EXTRA_CA_CERTS so TLS to Aurora (RDS certificate authority) verifies; Lambda's Node 20+
   * runtimes no longer trust the RDS CAs by default.
   * @default false
   */
  readonly trustRdsCertificates?: boolean;
  /**
   * The one source connector the function runs (its pipeline's): the bundle leaves every other built-in
   * connector out, and with it their drivers (mysql2 alone is ~1 MB).
   * @default - every discovered connector is bundled
   */
  readonly sourceConnector?: string;
}

/**
 * A Sluice Lambda: a handler of functions/handlers/ bundled by local esbuild (no Docker) as minified ESM
 * for Node 22 on arm64, AWS SDK included, in the private subnets, X-Ray active, JSON logs to its own
 * encrypted log group, and a role with only the grants made to it.
 */
export class SluiceFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: LeastPrivilegeRole;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: SluiceFunctionProps) {
    super(scope, id);
    const logLevel = props.logLevel ?? 'INFO';

    this.role = new LeastPrivilegeRole(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    // What AWSLambdaVPCAccessExecutionRole grants, without the AWS-managed policy.
    this.role.addWildcardStatement(
      'Lambda manages the function ENIs in the VPC; ec2:Describe* and ENI creation cannot be scoped to resources not yet created (same as AWSLambdaVPCAccessExecutionRole)',
      new iam.PolicyStatement({
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      encryptionKey: props.encryptionKey,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.logGroup.grantWrite(this.role);
    props.encryptionKey.grantDecrypt(this.role);

    const onFailure = props.invocation.kind === 'asynchronous' ? props.invocation.onFailure : undefined;
    this.function = new NodejsFunction(this, 'Function', {
      entry: handlerEntry(props.handler),
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.minutes(1),
      role: this.role,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: props.securityGroups,
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel[logLevel],
      systemLogLevelV2: lambda.SystemLogLevel.INFO,
      environmentEncryption: props.encryptionKey,
      ...(props.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
        : {}),
      ...(onFailure ? { onFailure: queueDestination(onFailure), retryAttempts: 2 } : {}),
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_LOG_LEVEL: logLevel,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
        ...(props.trustRdsCertificates ? { NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem' } : {}),
      },
      projectRoot: REPO_ROOT,
      depsLockFilePath: LOCK_FILE,
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        // No source maps in deployed bundles: a map as large as the bundle (~2.5 MB) made each zip
        // ~70% larger (process-chunks 0.86 → 1.47 MB), and --enable-source-maps slows every stack
        // trace. Errors name the step and the cause; a local run reproduces the stack.
        sourceMap: false,
        mainFields: ['module', 'main'],
        // ESM output still meets CommonJS dependencies that call require().
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        // The AWS SDK is bundled (pinned, tree-shaken), never taken from the runtime.
        externalModules: EXTERNAL_MODULES,
        ...(props.sourceConnector !== undefined
          ? { define: connectorBundleDefines(connectorModules(), props.sourceConnector) }
          : {}),
        forceDockerBundling: false,
      },
    });

    if (onFailure) {
      // Granted here, exactly: SqsDestination would grant the queue key's ReEncrypt*/GenerateDataKey* too.
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [onFailure.queueArn] }),
      );
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [props.encryptionKey.keyArn],
        }),
      );
    }

    const fn = this.function;
    acknowledge(
      fn,
      {
        id: 'AwsSolutions-L1',
        reason:
          'Node.js 22 is the runtime the handlers are built (esbuild target node22) and tested for; a runtime upgrade is a deliberate change, not a default',
      },
      {
        id: 'Serverless-LambdaLatestVersion',
        reason:
          'Node.js 22 is the runtime the handlers are built (esbuild target node22) and tested for; a runtime upgrade is a deliberate change, not a default',
      },
    );
    if (props.invocation.kind === 'synchronous') {
      const reason = `Invoked synchronously by ${props.invocation.caller}, which receives every error and retries or fails; an asynchronous dead-letter queue or failure destination would never receive anything`;
      acknowledge(
        fn,
        { id: 'Serverless-LambdaDLQ', reason },
        { id: 'NIST.800.53.R5-LambdaDLQ', reason },
        { id: 'Serverless-LambdaAsyncFailureDestination', reason },
      );
    } else {
      const reason =
        'Failed asynchronous invocations go to the on-failure destination (an SQS queue with an alarm), which records more context than a dead-letter queue';
      acknowledge(fn, { id: 'Serverless-LambdaDLQ', reason }, { id: 'NIST.800.53.R5-LambdaDLQ', reason });
    }
    if (props.reservedConcurrentExecutions === undefined) {
      if (!props.unreservedConcurrencyReason) {
        throw new Error(
          `${this.node.path}: give reservedConcurrentExecutions or unreservedConcurrencyReason`,
        );
      }
      acknowledge(fn, { id: 'NIST.800.53.R5-LambdaConcurrency', reason: props.unreservedConcurrencyReason });
    }
  }
}

/** An on-failure destination that only names the queue; the function's grants are made explicitly. */
function queueDestination(queue: sqs.IQueue): lambda.IDestination {
  return { bind: () => ({ destination: queue.queueArn }) };
}
