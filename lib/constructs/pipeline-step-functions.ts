import { Duration } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type LogLevel, SluiceFunction } from './sluice-function.js';

export interface PipelineStepFunctionsProps {
  /** The pipeline's name: the start of each function's description. */
  readonly pipeline: string;
  /** The state machine that invokes the functions (named in their descriptions). */
  readonly stateMachineName: string;
  readonly vpc: ec2.IVpc;
  /**
   * Where the functions run (subnets with a route out when the source needs one).
   * @default - the VPC's private isolated subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Admitted by the RDS Proxy and the VPC endpoints. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** Encrypts the functions' environment and logs. */
  readonly encryptionKey: kms.IKey;
  /** The handler environment (functions/handlers/env.ts) of the four steps. */
  readonly environment: Record<string, string>;
  /** Powertools service name and metrics namespace. */
  readonly serviceName: string;
  readonly metricsNamespace: string;
  /**
   * Memory of Prepare, ProcessChunks and Commit, in MiB (Fail always has 512).
   * @default 1024
   */
  readonly memorySize?: number;
  /**
   * Timeout of Prepare, ProcessChunks and Commit (Fail always has 2 minutes).
   * @default Duration.minutes(15)
   */
  readonly timeout?: Duration;
  /**
   * The Map's MaxConcurrency: ProcessChunks reserves this many, so chunk loads never exceed what the
   * proxy was sized for.
   * @default 10
   */
  readonly concurrency?: number;
  /**
   * Reserve concurrency for each function (2 for the one-at-a-time steps, `concurrency` for
   * ProcessChunks). Accounts with the initial Lambda concurrency quota of 10 cannot reserve any.
   * @default true
   */
  readonly reserveConcurrency?: boolean;
  /**
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * @default 'INFO'
   */
  readonly logLevel?: LogLevel;
  /**
   * The pipeline's source connector: the only one bundled.
   * @default - every discovered connector is bundled
   */
  readonly sourceConnector?: string;
}

const UNRESERVED =
  'Stage config functions.reserveConcurrency is off (accounts with the initial Lambda concurrency quota of 10 cannot reserve any)';

/**
 * The four functions a pipeline's state machine invokes: Prepare, ProcessChunks, Commit and Fail, with
 * the same network, key, environment and logging.
 *
 * Its functions are created in `scope`, as siblings of this construct: they were children of the
 * pipeline before it was split, and construct ids are API (a moved function would be replaced).
 */
export class PipelineStepFunctions extends Construct {
  public readonly prepare: SluiceFunction;
  public readonly processChunks: SluiceFunction;
  public readonly commit: SluiceFunction;
  public readonly fail: SluiceFunction;

  constructor(scope: Construct, id: string, props: PipelineStepFunctionsProps) {
    super(scope, id);
    const memorySize = props.memorySize ?? 1024;
    const timeout = props.timeout ?? Duration.minutes(15);
    const step = (
      fnId: string,
      handler: 'prepare' | 'process-chunks' | 'commit' | 'fail',
      settings: StepSettings,
    ) =>
      new SluiceFunction(scope, fnId, {
        handler,
        description: `${props.pipeline}: ${settings.description}`,
        invocation: {
          kind: 'synchronous',
          caller: `the ${props.stateMachineName} state machine (lambda:invoke task with Retry and Catch)`,
        },
        vpc: props.vpc,
        ...(props.vpcSubnets ? { vpcSubnets: props.vpcSubnets } : {}),
        securityGroups: [props.securityGroup],
        encryptionKey: props.encryptionKey,
        environment: props.environment,
        serviceName: props.serviceName,
        metricsNamespace: props.metricsNamespace,
        memorySize: settings.memorySize,
        timeout: settings.timeout,
        ...((props.reserveConcurrency ?? true)
          ? { reservedConcurrentExecutions: settings.reserved }
          : { unreservedConcurrencyReason: UNRESERVED }),
        ...(props.logRetention !== undefined ? { logRetention: props.logRetention } : {}),
        ...(props.logLevel !== undefined ? { logLevel: props.logLevel } : {}),
        trustRdsCertificates: true,
        ...(props.sourceConnector !== undefined ? { sourceConnector: props.sourceConnector } : {}),
      });
    // One run at a time per pipeline (the run lock): two leave room for a retry that overlaps.
    this.prepare = step('Prepare', 'prepare', {
      description: 'lock, plan chunks, write manifests',
      memorySize,
      timeout,
      reserved: 2,
    });
    this.processChunks = step('ProcessChunks', 'process-chunks', {
      description: 'load a batch of chunks exactly once',
      memorySize,
      timeout,
      reserved: props.concurrency ?? 10,
    });
    this.commit = step('Commit', 'commit', {
      description: 'quality checks and the atomic merge',
      memorySize,
      timeout,
      reserved: 2,
    });
    this.fail = step('Fail', 'fail', {
      description: 'mark the run failed, release the lock',
      memorySize: 512,
      timeout: Duration.minutes(2),
      reserved: 2,
    });
  }

  /** The four functions in the order the state machine runs them. */
  public get all(): SluiceFunction[] {
    return [this.prepare, this.processChunks, this.commit, this.fail];
  }

  /** The four functions by handler name (prepare, process-chunks, commit, fail). */
  public byHandler(): Record<string, lambda.IFunction> {
    return {
      prepare: this.prepare.function,
      'process-chunks': this.processChunks.function,
      commit: this.commit.function,
      fail: this.fail.function,
    };
  }

  /** Commit and Fail put RunSucceeded / RunFailed on the stage's bus (only they bundle the client). */
  public grantPutRunEvents(eventBus: events.IEventBus): void {
    for (const fn of [this.commit, this.fail]) {
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [eventBus.eventBusArn] }),
      );
    }
  }
}

interface StepSettings {
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly reserved: number;
}
