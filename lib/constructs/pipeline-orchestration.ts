import { ArnFormat, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RUNS_PREFIX, WORKER_CONTAINER_NAME } from '../naming.js';
import { ASL_FILE } from '../paths.js';
import type { ChunkWorkerTask } from './chunk-worker.js';
import { LeastPrivilegeRole } from './least-privilege-role.js';

/** Labels of the two Distributed Maps in statemachines/pipeline.asl.json (their map runs' names). */
export const MAP_LABELS = ['LambdaChunks', 'FargateChunks'];

export interface PipelineOrchestrationProps {
  readonly pipeline: string;
  readonly stateMachineName: string;
  /** Shown in the state machine's comment. */
  readonly stage: string;
  /** `s3://<staging>/specs/<pipeline>/<sha256>.json`: the published spec runs started now read. */
  readonly specLocation: string;
  /** The functions of the four Lambda steps. */
  readonly functions: {
    readonly prepare: lambda.IFunction;
    readonly processChunks: lambda.IFunction;
    readonly commit: lambda.IFunction;
    readonly fail: lambda.IFunction;
  };
  /** The task heavy chunks run as, in `cluster`. */
  readonly worker: ChunkWorkerTask;
  readonly cluster: ecs.ICluster;
  /** Worker tasks run in its isolated subnets. */
  readonly vpc: ec2.IVpc;
  readonly workerSecurityGroup: ec2.ISecurityGroup;
  /** Where the Distributed Maps read their item manifests (runs/). */
  readonly stagingBucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
  /**
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The pipeline's state machine from statemachines/pipeline.asl.json (the same file the local runner
 * executes), its role and its log group.
 *
 * Its resources are created in `scope`, as siblings of this construct: they were children of the
 * pipeline before it was split, and construct ids are API (a moved state machine would be replaced).
 */
export class PipelineOrchestration extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly role: LeastPrivilegeRole;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PipelineOrchestrationProps) {
    super(scope, id);
    const name = props.stateMachineName;
    this.role = stateMachineRole(scope, props);
    this.logGroup = new logs.LogGroup(scope, 'StateMachineLogs', {
      // The vended-logs prefix keeps CloudWatch Logs' resource policy small with many state machines.
      logGroupName: `/aws/vendedlogs/states/${name}`,
      encryptionKey: props.encryptionKey,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const isolatedSubnets = props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
    this.stateMachine = new sfn.StateMachine(scope, 'StateMachine', {
      stateMachineName: name,
      comment: `Sluice pipeline ${props.pipeline} (${props.stage})`,
      definitionBody: sfn.DefinitionBody.fromFile(ASL_FILE),
      definitionSubstitutions: {
        PipelineName: props.pipeline,
        SpecLocation: props.specLocation,
        PrepareFunctionArn: props.functions.prepare.functionArn,
        ProcessChunksFunctionArn: props.functions.processChunks.functionArn,
        CommitFunctionArn: props.functions.commit.functionArn,
        FailFunctionArn: props.functions.fail.functionArn,
        StagingBucket: props.stagingBucket.bucketName,
        ClusterArn: props.cluster.clusterArn,
        // The family, not a revision: a run that spans a deploy still starts its Fargate chunks on the
        // latest ACTIVE revision (a replaced revision is deregistered and can no longer run).
        WorkerTaskDefinitionArn: props.worker.taskDefinition.family,
        WorkerContainerName: WORKER_CONTAINER_NAME,
        WorkerSubnetIds: Fn.join(',', isolatedSubnets.subnetIds),
        WorkerSecurityGroupIds: props.workerSecurityGroup.securityGroupId,
      },
      stateMachineType: sfn.StateMachineType.STANDARD,
      role: this.role,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    this.stateMachine.node.addDependency(props.worker.taskDefinition);
  }
}

/** The Distributed Map needs: invoke the four functions, run its own child executions, read manifests, write child results, run Fargate tasks. */
function stateMachineRole(scope: Construct, props: PipelineOrchestrationProps): LeastPrivilegeRole {
  const stack = Stack.of(scope);
  const name = props.stateMachineName;
  const { worker } = props;
  const role = new LeastPrivilegeRole(scope, 'StateMachineRole', {
    assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
    description: `State machine ${name}`,
  });
  const arn = (
    service: string,
    resource: string,
    resourceName: string,
    arnFormat = ArnFormat.COLON_RESOURCE_NAME,
  ) => stack.formatArn({ service, resource, resourceName, arnFormat });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['lambda:InvokeFunction'],
      resources: Object.values(props.functions).map((f) => f.functionArn),
    }),
  );
  // By name: the role cannot reference the state machine's own ARN without a dependency cycle.
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['states:StartExecution'],
      resources: [arn('states', 'stateMachine', name)],
    }),
  );
  role.addWildcardStatement(
    "Child executions of this state machine's Distributed Maps: their names are generated per map run",
    new iam.PolicyStatement({
      actions: ['states:DescribeExecution', 'states:StopExecution'],
      resources: [arn('states', 'execution', `${name}:*`)],
    }),
  );
  role.addWildcardStatement(
    'Redriving a Distributed Map run restarts its failed child executions, named <stateMachine>/<map label>:<generated id>',
    new iam.PolicyStatement({
      actions: ['states:RedriveExecution'],
      resources: MAP_LABELS.map((label) => arn('states', 'execution', `${name}/${label}:*`)),
    }),
  );
  role.addWildcardStatement(
    'The Distributed Maps read their item manifests from runs/<runId>/ in staging; run ids are created at run time',
    new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: [props.stagingBucket.arnForObjects(`${RUNS_PREFIX}*`)],
    }),
  );
  role.addWildcardStatement(
    'The Distributed Maps write their child results (ResultWriter) under runs/<runId>/map-results/ in staging, so the state holds only where they are; run ids are created at run time',
    new iam.PolicyStatement({
      actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      resources: [props.stagingBucket.arnForObjects(`${RUNS_PREFIX}*/map-results/*`)],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [props.encryptionKey.keyArn],
    }),
  );
  role.addWildcardStatement(
    "RunTask by family runs its latest revision; the revision number changes with every image, so the grant names the family with any revision, in this stage's cluster only",
    new iam.PolicyStatement({
      actions: ['ecs:RunTask'],
      resources: [
        arn('ecs', 'task-definition', `${worker.taskDefinition.family}:*`, ArnFormat.SLASH_RESOURCE_NAME),
      ],
      conditions: { ArnEquals: { 'ecs:cluster': props.cluster.clusterArn } },
    }),
  );
  role.addWildcardStatement(
    "ecs:runTask.sync polls and, on abort, stops the tasks it started in this stage's cluster; task ids are generated by ECS",
    new iam.PolicyStatement({
      actions: ['ecs:DescribeTasks', 'ecs:StopTask'],
      resources: [arn('ecs', 'task', `${props.cluster.clusterName}/*`, ArnFormat.SLASH_RESOURCE_NAME)],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['iam:PassRole'],
      resources: [worker.taskRole.roleArn, worker.executionRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resources: [
        arn('events', 'rule', 'StepFunctionsGetEventsForECSTaskRule', ArnFormat.SLASH_RESOURCE_NAME),
      ],
    }),
  );
  return role;
}
