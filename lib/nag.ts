import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** A cdk-nag rule (or one finding of it, `Rule[Finding]`) of the three packs Sluice runs. */
export type NagRuleId = `AwsSolutions-${string}` | `Serverless-${string}` | `NIST.800.53.R5-${string}`;

export interface NagFinding {
  readonly id: NagRuleId;
  /** Why the finding is acceptable here: a reviewer must be able to check it. */
  readonly reason: string;
}

/**
 * Acknowledges cdk-nag findings on one construct (and what it contains), recorded under the pack's
 * namespace (`AwsSolutions::AwsSolutions-L1`) so the audit trail in the construct metadata names the pack.
 */
export function acknowledge(scope: IConstruct, ...findings: NagFinding[]): void {
  for (const { id, reason } of findings) {
    const pack = id.slice(0, id.indexOf('-'));
    Validations.of(scope).acknowledge({ id: `${pack}::${id}`, reason });
  }
}
