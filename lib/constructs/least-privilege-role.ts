import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
// cdk-nag's own flattening of CloudFormation references: finding ids must match it exactly.
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { Construct } from 'constructs';
import { acknowledge } from '../nag.js';

export interface LeastPrivilegeRoleProps {
  /** Service (or other principal) that assumes the role. */
  readonly assumedBy: iam.IPrincipal;
  /** What the role is for, shown in the IAM console. */
  readonly description: string;
  /**
   * A fixed name, for roles that people or other accounts refer to.
   * @default - a name CloudFormation generates
   */
  readonly roleName?: string;
  /**
   * @default Duration.hours(1)
   */
  readonly maxSessionDuration?: Duration;
  /**
   * Wildcard statements that a CDK construct adds to this role on its own, matched on their exact action
   * set, with the reason each is acceptable.
   * @default - only the built-in list (X-Ray, Step Functions log delivery)
   */
  readonly knownWildcards?: WildcardReason[];
}

/** Why a statement with these exact actions may use a wildcard. */
export interface WildcardReason {
  readonly actions: string[];
  readonly reason: string;
}

/**
 * Statements that CDK adds on its own (tracing, log delivery) and that cannot name a resource, with the
 * reason the wildcard is the least privilege AWS allows. Matched on the exact action set.
 */
const SERVICE_WILDCARDS: WildcardReason[] = [
  {
    actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
    reason: 'X-Ray trace submission has no resource-level permissions (AWS documents Resource "*" for it)',
  },
  {
    actions: [
      'xray:GetSamplingRules',
      'xray:GetSamplingTargets',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ],
    reason:
      'X-Ray tracing of a state machine: sampling and trace submission have no resource-level permissions',
  },
  {
    actions: [
      'logs:CreateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:DescribeLogGroups',
      'logs:DescribeResourcePolicies',
      'logs:GetLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:UpdateLogDelivery',
    ],
    reason:
      'Step Functions vended log delivery: these CloudWatch Logs APIs have no resource-level permissions',
  },
];

function sameActions(a: readonly string[], b: readonly string[]): boolean {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * An IAM role whose permissions live in one customer-managed policy (no inline policy, no AWS-managed
 * policy), so every grant is reviewable in one document. A statement that needs a wildcard must say why
 * (`addWildcardStatement`); that reason becomes the cdk-nag acknowledgement of exactly that wildcard,
 * and a wildcard added without one stays a nag finding.
 */
export class LeastPrivilegeRole extends iam.Role {
  private managedPolicy?: iam.ManagedPolicy;
  private readonly statements: { statement: iam.PolicyStatement; reason?: string }[] = [];
  private readonly knownWildcards: WildcardReason[];
  private readonly policyDescription: string;

  constructor(scope: Construct, id: string, props: LeastPrivilegeRoleProps) {
    super(scope, id, {
      assumedBy: props.assumedBy,
      description: props.description,
      ...(props.roleName ? { roleName: props.roleName } : {}),
      maxSessionDuration: props.maxSessionDuration ?? Duration.hours(1),
    });
    this.knownWildcards = [...SERVICE_WILDCARDS, ...(props.knownWildcards ?? [])];
    this.policyDescription = `Grants of: ${props.description}`;
    // Runs after cross-stack references are resolved, so the ids match what cdk-nag computes.
    this.node.addValidation({ validate: () => this.acknowledgeReasonedWildcards() });
  }

  /** The role's one policy, created with its first statement: every grant made to the role lands here. */
  public get policy(): iam.ManagedPolicy {
    this.managedPolicy ??= new iam.ManagedPolicy(this, 'Policy', {
      roles: [this],
      description: this.policyDescription,
    });
    return this.managedPolicy;
  }

  /** Grants land in the role's managed policy instead of an inline default policy. */
  public override addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    this.statements.push({ statement });
    this.policy.addStatements(statement);
    return { statementAdded: true, policyDependable: this.policy };
  }

  /**
   * Adds a statement whose action or resource has to contain `*`.
   * @param reason why no narrower statement works, for a reviewer (becomes the nag acknowledgement)
   */
  public addWildcardStatement(reason: string, statement: iam.PolicyStatement): void {
    this.statements.push({ statement, reason });
    this.policy.addStatements(statement);
  }

  private acknowledgeReasonedWildcards(): string[] {
    const stack = Stack.of(this);
    for (const { statement, reason: given } of this.statements) {
      const json = stack.resolve(statement.toStatementJson()) as {
        Effect: string;
        Action?: unknown;
        Resource?: unknown;
      };
      if (json.Effect !== 'Allow') continue;
      const actions = toArray(json.Action).map(String);
      const reason = given ?? this.knownWildcards.find((w) => sameActions(w.actions, actions))?.reason;
      if (!reason) continue;
      const findings = [
        ...actions.filter((a) => a.includes('*')).map((a) => `Action::${a}`),
        ...toArray(json.Resource)
          .map((r) => flattenCfnReference(r))
          .filter((r) => r.includes('*'))
          .map((r) => `Resource::${r}`),
      ];
      for (const finding of findings) {
        acknowledge(this.managedPolicy ?? this, { id: `AwsSolutions-IAM5[${finding}]`, reason });
      }
    }
    return [];
  }
}

function toArray(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
