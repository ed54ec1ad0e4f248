// Issue 13.2 in IAM: only the migration custom resources read the admin secret; runs use the loader login's.
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { examplePipelines, fixturePipelines, type SynthResult, synthSluice } from './support/synth.js';
import { resourceNamed, resources, roleOf, type Statement, statementsGranting } from './support/template.js';

let stages: Record<'dev' | 'prod', SynthResult>;
beforeAll(async () => {
  const specs = [...(await examplePipelines()), ...(await fixturePipelines('payments', 'manual'))];
  stages = {
    dev: synthSluice({ stage: 'dev', specs, githubRepository: 'acme/sluice' }),
    prod: synthSluice({ stage: 'prod', specs, githubRepository: 'acme/sluice' }),
  };
}, 300_000);

/** Every stack of the app, nested pipeline stacks and the GitHub deploy stack included. */
function everyTemplate(synth: SynthResult): [string, Template][] {
  return synth.app.node
    .findAll()
    .filter((c): c is Stack => Stack.isStack(c))
    .map((s) => [s.node.path, Template.fromStack(s)]);
}

// The cluster's generated secret and its attachment: by logical id in the platform stack, and inside the
// name of the parameter a nested stack receives it through (`referenceto…DatabaseClusterSecret…`).
const ADMIN_SECRET = /DatabaseClusterSecret/;
const LOADER_SECRET = /DatabaseLoaderSecret/;

/** Whether a statement's resources could name the secret: by reference, or by a wildcard over secrets. */
function reaches(statement: Statement, secret: RegExp): boolean {
  const list = [statement.Resource].flat();
  return list.some((r) => {
    const text = JSON.stringify(r);
    return secret.test(text) || r === '*' || /:secret:\*"?$/.test(text) || /:secretsmanager:\*/.test(text);
  });
}

/** `<stack path>/<role logical id>` of every role some policy lets read a secret matching `secret`. */
function rolesReading(synth: SynthResult, secret: RegExp): string[] {
  const found = new Set<string>();
  for (const [path, template] of everyTemplate(synth)) {
    const policies = [
      ...Object.values(resources(template, 'AWS::IAM::Policy')),
      ...Object.values(resources(template, 'AWS::IAM::ManagedPolicy')),
    ];
    for (const policy of policies) {
      const statements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
      const granting = statementsGranting(
        statements.filter((s) => s.Effect === 'Allow'),
        'secretsmanager:GetSecretValue',
      );
      if (!granting.some((s) => reaches(s, secret))) continue;
      for (const role of (policy.Properties.Roles ?? []) as { Ref: string }[])
        found.add(`${path}/${role.Ref}`);
    }
    for (const [id, role] of Object.entries(resources(template, 'AWS::IAM::Role'))) {
      const inline = (role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[]) ?? [];
      const statements = inline
        .flatMap((p) => p.PolicyDocument.Statement)
        .filter((s) => s.Effect === 'Allow');
      if (statementsGranting(statements, 'secretsmanager:GetSecretValue').some((s) => reaches(s, secret)))
        found.add(`${path}/${id}`);
    }
  }
  return [...found].sort();
}

describe.each(['dev', 'prod'] as const)('who reads the admin secret (%s)', (stage) => {
  it('is the migration custom resources’ function only, in every stack', () => {
    const synth = stages[stage];
    const [, migrations] = resourceNamed(synth.template, 'AWS::Lambda::Function', 'MigrationsFunction');

    expect(rolesReading(synth, ADMIN_SECRET)).toEqual([`${synth.platform.node.path}/${roleOf(migrations)}`]);
  });

  it('gives every pipeline function and worker the loader secret, and grants them that one', () => {
    const synth = stages[stage];
    const readers = rolesReading(synth, LOADER_SECRET);
    let runtimes = 0;
    for (const template of Object.values(synth.pipelines)) {
      const functions = Object.values(resources(template, 'AWS::Lambda::Function')).filter((f) =>
        JSON.stringify(f.Properties.Environment ?? {}).includes('SLUICE_DATABASE_SECRET_ARN'),
      );
      const tasks = Object.values(resources(template, 'AWS::ECS::TaskDefinition'));
      expect(functions.length).toBeGreaterThan(0);
      expect(tasks).toHaveLength(1);
      for (const fn of functions) {
        const secret = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables
          .SLUICE_DATABASE_SECRET_ARN;
        expect(JSON.stringify(secret)).toMatch(LOADER_SECRET);
        expect(readers.some((r) => r.endsWith(`/${roleOf(fn)}`))).toBe(true);
        runtimes++;
      }
      const task = tasks[0]!;
      const env = JSON.stringify(task.Properties.ContainerDefinitions);
      expect(env).toContain('SLUICE_DATABASE_SECRET_ARN');
      expect(env).not.toMatch(ADMIN_SECRET);
      expect(readers.some((r) => r.endsWith(`/${roleOf(task, 'TaskRoleArn')}`))).toBe(true);
    }
    expect(runtimes).toBeGreaterThan(0);
  });

  it('lets the RDS Proxy authenticate the loader login, and not the admin', () => {
    const proxies = Object.values(resources(stages[stage].template, 'AWS::RDS::DBProxy'));
    expect(proxies).toHaveLength(1);
    const auth = JSON.stringify(proxies[0]!.Properties.Auth);
    expect(auth).toMatch(LOADER_SECRET);
    expect(auth).not.toMatch(ADMIN_SECRET);
  });
});
