import { beforeAll, describe, expect, it } from 'vitest';
import { fixturePipelines, type SynthResult, synthSluice } from './support/synth.js';
import { resourceNamed, resources, roleOf, statementsOf } from './support/template.js';

/** Issue 13.2 in the stack: a secret per runtime login, rotated, created by the migrations; the Data API on. */
let prod: SynthResult;
beforeAll(async () => {
  prod = synthSluice({ stage: 'prod', specs: await fixturePipelines('manual') });
}, 300_000);

const loginSecretIds = () =>
  Object.keys(resources(prod.template, 'AWS::SecretsManager::Secret')).filter((id) =>
    /^Database(Loader|Reader|Auditor)Secret[0-9A-F]{8}$/.test(id),
  );

describe('runtime logins (13.2)', () => {
  it('has a KMS-encrypted secret per login, named after its user', () => {
    const ids = loginSecretIds();
    expect(ids).toHaveLength(3);
    const secrets = resources(prod.template, 'AWS::SecretsManager::Secret');
    const users = ids.map((id) => {
      const props = secrets[id]!.Properties as {
        KmsKeyId: unknown;
        GenerateSecretString: { SecretStringTemplate: string };
      };
      expect(JSON.stringify(props.KmsKeyId)).toContain('Key961B73FD');
      return (JSON.parse(props.GenerateSecretString.SecretStringTemplate) as { username: string }).username;
    });
    expect(users.sort()).toEqual(['sluice_auditor_login', 'sluice_loader_login', 'sluice_reader_login']);
  });

  it('rotates each login secret, first after the migrations created the login', () => {
    const [internalSchema] = resourceNamed(
      prod.template,
      'Custom::SluiceInternalSchema',
      'MigrationsInternalSchema',
    );
    const schedules = Object.entries(
      resources(prod.template, 'AWS::SecretsManager::RotationSchedule'),
    ).filter(([id]) => /^Database(Loader|Reader|Auditor)Secret/.test(id));
    expect(schedules).toHaveLength(3);
    for (const [, schedule] of schedules) {
      expect([schedule.DependsOn ?? []].flat()).toContain(internalSchema);
      expect(schedule.Properties.RotationRules).toEqual({ ScheduleExpression: 'rate(30 days)' });
    }
  });

  it('gives the migration function the login secrets to create the logins from, and the right to read them', () => {
    const [, fn] = resourceNamed(prod.template, 'AWS::Lambda::Function', 'MigrationsFunction');
    const arns = JSON.stringify(
      (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables
        .SLUICE_LOGIN_SECRET_ARNS,
    );
    for (const id of loginSecretIds())
      expect(arns).toContain(id.replace(/Secret[0-9A-F]{8}$/, 'SecretAttachment'));
    const readable = JSON.stringify(
      statementsOf(prod.template, roleOf(fn)).filter((s) =>
        JSON.stringify(s.Action).includes('secretsmanager:GetSecretValue'),
      ),
    );
    for (const group of ['Loader', 'Reader', 'Auditor'])
      expect(readable).toContain(`Database${group}SecretAttachment`);
  });

  it('enables the RDS Data API and outputs the cluster and the reader and auditor secrets', () => {
    prod.template.hasResourceProperties('AWS::RDS::DBCluster', { EnableHttpEndpoint: true });
    const outputs = prod.template.toJSON().Outputs as Record<string, unknown>;
    for (const name of [
      'DatabaseClusterArn',
      'DatabaseReaderSecretArn',
      'DatabaseAuditorSecretArn',
      'DatabaseLoaderSecretArn',
    ])
      expect(Object.keys(outputs)).toContain(name);
  });
});
