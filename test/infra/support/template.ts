import type { Template } from 'aws-cdk-lib/assertions';

export interface CfnResource {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}

export function resources(template: Template, type: string): Record<string, CfnResource> {
  return template.findResources(type) as Record<string, CfnResource>;
}

/** The one resource of a type whose logical id starts with `prefix` followed by CDK's 8-character hash. */
export function resourceNamed(template: Template, type: string, prefix: string): [string, CfnResource] {
  const matches = Object.entries(resources(template, type)).filter(([id]) =>
    new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id),
  );
  if (matches.length !== 1)
    throw new Error(
      `expected one ${type} named ${prefix}*, found ${matches.map(([id]) => id).join(', ') || 'none'}`,
    );
  return matches[0]!;
}

/** Logical id of the role a resource's `Role`/`RoleArn`/`TaskRoleArn` property points at. */
export function roleOf(resource: CfnResource, property = 'Role'): string {
  const ref = resource.Properties[property] as { 'Fn::GetAtt'?: [string, string] } | undefined;
  const id = ref?.['Fn::GetAtt']?.[0];
  if (!id) throw new Error(`${property} is not a GetAtt of a role: ${JSON.stringify(ref)}`);
  return id;
}

/** Every Allow statement of the policies attached to a role (managed and inline). */
export function statementsOf(template: Template, roleId: string): Statement[] {
  const attached = [
    ...Object.values(resources(template, 'AWS::IAM::ManagedPolicy')),
    ...Object.values(resources(template, 'AWS::IAM::Policy')),
  ].filter((p) => JSON.stringify(p.Properties.Roles ?? []).includes(`"${roleId}"`));
  const role = resources(template, 'AWS::IAM::Role')[roleId];
  const inline = (
    (role?.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[] | undefined) ?? []
  ).flatMap((p) => p.PolicyDocument.Statement);
  return [
    ...attached.flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement),
    ...inline,
  ].filter((s) => s.Effect === 'Allow');
}

/** Actions granted by statements, as a flat sorted list. */
export function actionsOf(statements: Statement[]): string[] {
  return [...new Set(statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])))].sort();
}

/** Statements that grant an action (exactly, or through a `service:Prefix*` wildcard). */
export function statementsGranting(statements: Statement[], action: string): Statement[] {
  return statements.filter((s) =>
    (Array.isArray(s.Action) ? s.Action : [s.Action]).some(
      (a) => a === action || a === '*' || (a.endsWith('*') && action.startsWith(a.slice(0, -1))),
    ),
  );
}
