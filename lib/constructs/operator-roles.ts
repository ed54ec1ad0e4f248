import { ArnFormat, Aws, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { RUNS_PREFIX } from '../naming.js';
import { LeastPrivilegeRole } from './least-privilege-role.js';
import { MAP_LABELS } from './pipeline-orchestration.js';

/**
 * What `--stage` reads need of the database: the ledger (reader login) and, for the operator's
 * `audit verify --stage`, the audit log (auditor login), both over the RDS Data API; and the stage's
 * stack outputs that say where they are.
 */
export interface StageLedgerAccess {
  /** The Aurora cluster (Data API enabled): `rds-data:ExecuteStatement` on it. */
  readonly clusterArn: string;
  /** sluice_reader_login's secret: both roles read it (`runs`, `rejects`, `ui --stage`). */
  readonly readerSecret: secretsmanager.ISecret;
  /** sluice_auditor_login's secret: the operator role reads it (`audit verify --stage`). */
  readonly auditorSecret: secretsmanager.ISecret;
  /** The stage's platform stack (`sluice-<stage>`), whose outputs `--stage` reads. */
  readonly stackName: string;
}

export interface OperatorRolesProps {
  /**
   * Names of the stage's pipeline state machines (`sluice-<stage>-<pipeline>`). Names, not state
   * machines: the grants then need no outputs of the pipelines' nested stacks.
   */
  readonly stateMachineNames: readonly string[];
  /** Staging bucket: the roles read `runs/<runId>/summary.json` and `runs/<runId>/rejects/` only. */
  readonly stagingBucket: s3.IBucket;
  /** The stage key that encrypts staging: the roles may decrypt with it through S3 only. */
  readonly encryptionKey: kms.IKey;
  /**
   * Who may assume the operator role.
   * @default - the deploying account (`AccountRootPrincipal`): its IAM policies decide who
   */
  readonly operators?: iam.IPrincipal[];
  /**
   * Who may assume the viewer role.
   * @default - the deploying account (`AccountRootPrincipal`): its IAM policies decide who
   */
  readonly viewers?: iam.IPrincipal[];
  /**
   * Name of the operator role.
   * @default - a name CloudFormation generates
   */
  readonly operatorRoleName?: string;
  /**
   * Name of the viewer role.
   * @default - a name CloudFormation generates
   */
  readonly viewerRoleName?: string;
  /**
   * The ledger over the RDS Data API, for `runs --stage` and `audit verify --stage`.
   * @default - no database access: the roles read executions and staging only
   */
  readonly ledger?: StageLedgerAccess;
  /**
   * How long an assumed session of either role lasts at most.
   * @default Duration.hours(1)
   */
  readonly maxSessionDuration?: Duration;
}

/**
 * Two roles for people and tools that run a stage: the viewer reads runs (executions, their history and
 * map runs, each run's summary and rejects); the operator also starts, stops and redrives them (`sluice
 * run` and `sluice redrive` both start an execution). With `ledger`, both read the run ledger as the
 * reader login over the RDS Data API, and the operator also the audit log as the auditor login. Neither
 * reads the admin or loader secret, writes the database, or reads specs.
 */
export class OperatorRoles extends Construct {
  public readonly operatorRole: LeastPrivilegeRole;
  public readonly viewerRole: LeastPrivilegeRole;

  constructor(scope: Construct, id: string, props: OperatorRolesProps) {
    super(scope, id);
    const maxSessionDuration = props.maxSessionDuration ?? Duration.hours(1);
    const assumedBy = (principals: iam.IPrincipal[] | undefined) => {
      const chosen = principals?.length ? principals : [new iam.AccountRootPrincipal()];
      return chosen.length === 1 ? chosen[0]! : new iam.CompositePrincipal(...chosen);
    };
    this.viewerRole = new LeastPrivilegeRole(this, 'Viewer', {
      assumedBy: assumedBy(props.viewers),
      description: 'Sluice viewer: read pipeline runs, their summaries and rejects',
      ...(props.viewerRoleName ? { roleName: props.viewerRoleName } : {}),
      maxSessionDuration,
    });
    this.operatorRole = new LeastPrivilegeRole(this, 'Operator', {
      assumedBy: assumedBy(props.operators),
      description: 'Sluice operator: start, stop, redrive and read pipeline runs',
      ...(props.operatorRoleName ? { roleName: props.operatorRoleName } : {}),
      maxSessionDuration,
    });
    for (const role of [this.viewerRole, this.operatorRole]) this.grantReadRuns(role, props);
    this.grantOperateRuns(this.operatorRole, props.stateMachineNames);
    if (props.ledger) {
      this.grantReadLedger(this.viewerRole, props.ledger, [props.ledger.readerSecret]);
      this.grantReadLedger(this.operatorRole, props.ledger, [
        props.ledger.readerSecret,
        props.ledger.auditorSecret,
      ]);
    }
  }

  /**
   * `--stage` reads: the stack's outputs (DescribeStacks), then statements over the Data API, which
   * fetches the login's secret with the caller's credentials (so GetSecretValue on it, and Decrypt with
   * the stage key through Secrets Manager only). ExecuteStatement only: the CLI batches nothing.
   */
  private grantReadLedger(
    role: LeastPrivilegeRole,
    ledger: StageLedgerAccess,
    secrets: secretsmanager.ISecret[],
  ): void {
    role.addWildcardStatement(
      "The stage's stack, stack/<name>/<id>: its id is generated at creation; --stage reads its outputs",
      new iam.PolicyStatement({
        actions: ['cloudformation:DescribeStacks'],
        resources: [
          Stack.of(this).formatArn({
            service: 'cloudformation',
            resource: 'stack',
            resourceName: `${ledger.stackName}/*`,
          }),
        ],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['rds-data:ExecuteStatement'], resources: [ledger.clusterArn] }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: secrets.map((s) => s.secretArn),
      }),
    );
  }

  private grantReadRuns(role: LeastPrivilegeRole, props: OperatorRolesProps): void {
    const names = props.stateMachineNames;
    role.addWildcardStatement(
      'ListStateMachines has no resource-level permissions; the CLI finds sluice-<stage>-<pipeline> with it',
      new iam.PolicyStatement({ actions: ['states:ListStateMachines'], resources: ['*'] }),
    );
    if (names.length > 0) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['states:DescribeStateMachine', 'states:ListExecutions'],
          resources: names.map((name) => this.statesArn('stateMachine', name)),
        }),
      );
      role.addWildcardStatement(
        "Runs of the stage's pipelines and their Distributed Map child executions (<stateMachine>/<map label>:<id>): execution names are generated per run",
        new iam.PolicyStatement({
          actions: ['states:DescribeExecution', 'states:GetExecutionHistory', 'states:ListMapRuns'],
          resources: names.flatMap((name) => [
            this.statesArn('execution', `${name}:*`),
            ...MAP_LABELS.map((label) => this.statesArn('execution', `${name}/${label}:*`)),
          ]),
        }),
      );
      role.addWildcardStatement(
        "Map runs of the pipelines' Distributed Maps (<stateMachine>/<map label>:<id>): their ids are generated per run",
        new iam.PolicyStatement({
          actions: ['states:DescribeMapRun', 'states:ListExecutions'],
          resources: names.flatMap((name) =>
            MAP_LABELS.map((label) => this.statesArn('mapRun', `${name}/${label}:*`)),
          ),
        }),
      );
    }
    const bucket = props.stagingBucket;
    role.addWildcardStatement(
      "A run's summary and rejects, runs/<runId>/summary.json and runs/<runId>/rejects/: run ids are created at run time; staged chunks and manifests stay unreadable",
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [
          bucket.arnForObjects(`${RUNS_PREFIX}*/summary.json`),
          bucket.arnForObjects(`${RUNS_PREFIX}*/rejects/*`),
        ],
      }),
    );
    // A summary names its rejects folder (rejectsLocation); listing it finds the files of each chunk.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${RUNS_PREFIX}*/rejects/*`] } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [props.encryptionKey.keyArn],
        // Staging objects through S3; with `ledger`, the login secrets through Secrets Manager.
        conditions: {
          StringEquals: {
            'kms:ViaService': props.ledger
              ? [`s3.${Aws.REGION}.amazonaws.com`, `secretsmanager.${Aws.REGION}.amazonaws.com`]
              : `s3.${Aws.REGION}.amazonaws.com`,
          },
        },
      }),
    );
  }

  /** `sluice run` and `sluice redrive` start executions (a redrive is a new one that resumes the run). */
  private grantOperateRuns(role: LeastPrivilegeRole, names: readonly string[]): void {
    if (names.length === 0) return;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: names.map((name) => this.statesArn('stateMachine', name)),
      }),
    );
    role.addWildcardStatement(
      "Stopping or redriving a run of the stage's pipelines (Step Functions redrives its map runs itself): execution names are generated per run",
      new iam.PolicyStatement({
        actions: ['states:StopExecution', 'states:RedriveExecution'],
        resources: names.map((name) => this.statesArn('execution', `${name}:*`)),
      }),
    );
  }

  private statesArn(resource: 'stateMachine' | 'execution' | 'mapRun', resourceName: string): string {
    return Stack.of(this).formatArn({
      service: 'states',
      resource,
      resourceName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }
}
