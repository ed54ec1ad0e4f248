import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

describe('sluice CLI', () => {
  it('validates the example pipelines', async () => {
    const result = await runCli(['validate']);

    expect(result.stdout).toContain('ok  pipelines/orders.yaml');
    expect(result.code).toBe(0);
  });

  it('fails validation with file, line and field for every problem', async () => {
    const result = await runCli([
      'validate',
      'test/fixtures/specs/many-errors.yaml',
      'test/fixtures/specs/minimal.yaml',
    ]);

    expect(result.stdout).toContain('test/fixtures/specs/many-errors.yaml:1:7 name: must be kebab-case');
    expect(result.stdout).toContain(
      'test/fixtures/specs/many-errors.yaml:16:9 colour: unknown field "colour"',
    );
    expect(result.stdout).toContain('ok  test/fixtures/specs/minimal.yaml');
    expect(result.stdout).toContain('1 of 2 spec(s) invalid');
    expect(result.code).toBe(2);
  });

  it('fails validation of an alias bomb with its line, and still reports the other specs', async () => {
    const result = await runCli([
      'validate',
      'test/fixtures/specs/alias-bomb.yaml',
      'test/fixtures/specs/reserved-keys.yaml',
      'test/fixtures/specs/minimal.yaml',
    ]);

    expect(result.stdout).toContain(
      'test/fixtures/specs/alias-bomb.yaml:6:10 (root): YAML: the aliases expand',
    );
    expect(result.stdout).toContain(
      'test/fixtures/specs/reserved-keys.yaml:16:5 destination.columns.__proto__: key "__proto__" is not allowed',
    );
    expect(result.stdout).toContain('ok  test/fixtures/specs/minimal.yaml');
    expect(result.stdout).toContain('2 of 3 spec(s) invalid');
    expect(result.code).toBe(2);
  });

  it('fails validation of a location outside the spec folder unless SLUICE_ALLOWED_ROOTS allows it', async () => {
    const spec = 'test/fixtures/bad-input/spec-location-absolute/spec.yaml';

    const refused = await runCli(['validate', spec]);
    const allowed = await runCli(['validate', spec], { SLUICE_ALLOWED_ROOTS: '/nonexistent:/etc' });

    expect(refused.stdout).toContain(
      `${spec}:6:15 source.config.location: location "/etc" resolves to /etc, outside the spec's folder`,
    );
    expect(refused.code).toBe(2);
    expect(allowed.stdout).toContain(`ok  ${spec}`);
    expect(allowed.code).toBe(0);
  });

  it('fails when the pipeline does not exist, listing the ones that do', async () => {
    const result = await runCli(['run', 'nope']);

    expect(result.stderr).toMatch(
      /no pipeline "nope": pipelines\/nope\.yaml does not exist \(found: [^)]*customers-history\.yaml[^)]*customers-pg\.yaml[^)]*orders\.yaml/,
    );
    // A usage error: exit 2, not 1 (a failed run).
    expect(result.code).toBe(2);
  });

  it('fails when the database is down, naming where it tried to connect (and no password)', async () => {
    const result = await runCli(['run', 'orders', '--home', '/tmp/sluice-cli-down'], {
      DATABASE_URL: 'postgres://loader:s3cret@127.0.0.1:1/warehouse',
    });

    expect(result.stderr).toMatch(
      /cannot reach the database at postgres:\/\/loader@127\.0\.0\.1:1\/warehouse/,
    );
    expect(result.stderr).not.toContain('s3cret');
    expect(result.code).toBe(1);
  });

  it('prints the spec JSON Schema', async () => {
    const result = await runCli(['schema']);

    const schema = JSON.parse(result.stdout) as { properties: Record<string, unknown> };
    expect(schema.properties).toHaveProperty('destination');
    expect(result.code).toBe(0);
  });
});
