import { Aws, Duration } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.js';
import { LeastPrivilegeRole } from './least-privilege-role.js';
import { type LogLevel, SluiceFunction } from './sluice-function.js';

/** Uploads that start a run: objects created under `prefix` (ending in `suffix`) in bucket `bucketName`. */
export interface UploadTrigger {
  readonly bucketName: string;
  readonly prefix: string;
  /**
   * @default - any key under the prefix
   */
  readonly suffix?: string;
}

export interface PipelineTriggersProps {
  readonly pipeline: string;
  /** The state machine the triggers start, and its name (for descriptions). */
  readonly stateMachine: sfn.IStateMachine;
  readonly stateMachineName: string;
  /** Encrypts the trigger failure queue and the starter function. */
  readonly encryptionKey: kms.IKey;
  /**
   * EventBridge Scheduler expression (`cron(…)`, `rate(…)`) that starts a run.
   * @default - no schedule
   */
  readonly schedule?: string;
  /**
   * Start one run per uploaded object.
   * @default - no upload trigger
   */
  readonly uploads?: UploadTrigger;
  /** Network, service name and metrics namespace of the starter function (uploads only). */
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly serviceName: string;
  readonly metricsNamespace: string;
  /**
   * Reserve 5 concurrent executions for the starter function.
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
}

const UNRESERVED =
  'Stage config functions.reserveConcurrency is off (accounts with the initial Lambda concurrency quota of 10 cannot reserve any)';
const NOT_A_WORK_QUEUE =
  "Dead-letter destination of this pipeline's triggers (schedule, upload rule, starter function), watched by an alarm; it is not a work queue, so it has no dead-letter queue of its own";

/**
 * What starts a pipeline's runs: its schedule (EventBridge Scheduler) and its uploads (an S3 "Object
 * Created" rule and the function that starts one run per object version), with one encrypted queue
 * for the events that could not start a run.
 *
 * Its resources are created in `scope`, as siblings of this construct: they were children of the
 * pipeline before it was split, and construct ids are API (a moved queue or rule would be replaced).
 */
export class PipelineTriggers extends Construct {
  /** Trigger events that could not start a run. */
  public readonly failures: sqs.Queue;
  public readonly schedule?: scheduler.Schedule;
  /** Starts a run for each uploaded object (only with `uploads`). */
  public readonly starter?: SluiceFunction;
  public readonly objectCreatedRule?: events.Rule;

  constructor(scope: Construct, id: string, props: PipelineTriggersProps) {
    super(scope, id);
    this.failures = new sqs.Queue(scope, 'TriggerFailures', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      this.failures,
      { id: 'AwsSolutions-SQS3', reason: NOT_A_WORK_QUEUE },
      { id: 'Serverless-SQSRedrivePolicy', reason: NOT_A_WORK_QUEUE },
    );
    if (props.schedule !== undefined) this.schedule = this.startOnSchedule(scope, props, props.schedule);
    if (props.uploads !== undefined) {
      this.starter = this.starterFunction(scope, props);
      this.objectCreatedRule = this.startOnUpload(scope, props, props.uploads, this.starter);
    }
  }

  private startOnSchedule(scope: Construct, props: PipelineTriggersProps, expression: string) {
    const role = new LeastPrivilegeRole(scope, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: `EventBridge Scheduler: start ${props.stateMachineName} on its schedule`,
    });
    // Failed deliveries go to the encrypted trigger failure queue, sent with this role.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.encryptionKey.keyArn],
      }),
    );
    return new scheduler.Schedule(scope, 'Schedule', {
      description: `Runs ${props.pipeline} ${expression}`,
      schedule: scheduler.ScheduleExpression.expression(expression),
      target: new schedulerTargets.StepFunctionsStartExecution(props.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({ trigger: { type: 'schedule' } }),
        role,
        deadLetterQueue: this.failures,
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
      }),
    });
  }

  private starterFunction(scope: Construct, props: PipelineTriggersProps): SluiceFunction {
    const starter = new SluiceFunction(scope, 'StartRun', {
      handler: 'start-run',
      description: `${props.pipeline}: start one run per uploaded object`,
      invocation: { kind: 'asynchronous', onFailure: this.failures },
      vpc: props.vpc,
      securityGroups: [props.securityGroup],
      encryptionKey: props.encryptionKey,
      environment: { SLUICE_STATE_MACHINE_ARN: props.stateMachine.stateMachineArn },
      serviceName: props.serviceName,
      metricsNamespace: props.metricsNamespace,
      memorySize: 256,
      timeout: Duration.seconds(30),
      ...((props.reserveConcurrency ?? true)
        ? { reservedConcurrentExecutions: 5 }
        : { unreservedConcurrencyReason: UNRESERVED }),
      ...(props.logRetention !== undefined ? { logRetention: props.logRetention } : {}),
      ...(props.logLevel !== undefined ? { logLevel: props.logLevel } : {}),
    });
    starter.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [props.stateMachine.stateMachineArn],
      }),
    );
    return starter;
  }

  private startOnUpload(
    scope: Construct,
    props: PipelineTriggersProps,
    uploads: UploadTrigger,
    starter: SluiceFunction,
  ): events.Rule {
    const { bucketName, prefix, suffix } = uploads;
    return new events.Rule(scope, 'ObjectCreated', {
      description: `Starts ${props.pipeline} for each object created under s3://${bucketName}/${prefix}${suffix ? `…${suffix}` : ''}`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [bucketName] }, object: { key: [objectKeyFilter(prefix, suffix)] } },
      },
      targets: [
        new eventTargets.LambdaFunction(starter.function, {
          deadLetterQueue: this.failures,
          retryAttempts: 4,
          maxEventAge: Duration.hours(2),
        }),
      ],
    });
  }
}

/** EventBridge key filter: a prefix, or a wildcard `prefix*suffix` when a suffix is given. */
export function objectKeyFilter(prefix: string, suffix?: string): Record<string, string> {
  if (!suffix) return { prefix };
  const escapeWildcard = (s: string) => s.replace(/[\\*]/g, (c) => `\\${c}`);
  return { wildcard: `${escapeWildcard(prefix)}*${escapeWildcard(suffix)}` };
}
