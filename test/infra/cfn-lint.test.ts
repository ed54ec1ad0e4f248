import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { examplePipelines, fixturePipelines, REPO_ROOT, synthSluice } from './support/synth.js';

/**
 * cfn-lint (AWS's CloudFormation linter: resource schemas, property values, intrinsic functions) over
 * every template `cdk synth` writes for dev and prod, nested pipeline stacks included. .ci/run installs
 * it when a machine lacks it; without it the test fails under CI=true and is skipped (saying so) locally.
 * Ignored rules, each with its reason, are in .cfnlintrc.yaml.
 */
const CFN_LINT = process.env.SLUICE_CFN_LINT ?? 'cfn-lint';
const available = spawnSync(CFN_LINT, ['--version'], { encoding: 'utf8' }).status === 0;
if (!available && process.env.CI !== 'true') {
  console.warn(`skipped: cfn-lint is not installed (pip install cfn-lint==1.51.0; .ci/run installs it)`);
}

/**
 * Findings that are cfn-lint's, not the template's: its bundled 1.51 schemas predate Tags on these two
 * types, which CloudFormation accepts (the AWS::CloudWatch::Dashboard reference lists Tags, read
 * 2026-12-04; aws-cdk-lib 2.276's L1s, generated from the CloudFormation registry schemas, make both
 * taggable). Matched on rule, resource type and property, nothing wider.
 */
const SCHEMA_LAGS = [
  { rule: 'E3002', type: 'AWS::CloudWatch::Dashboard', message: "'Tags' was unexpected" },
  { rule: 'E3002', type: 'AWS::RDS::DBProxyTargetGroup', message: "'Tags' was unexpected" },
];

interface Finding {
  Rule: { Id: string };
  Level: string;
  Message: string;
  Filename: string;
  Location: { Path: (string | number)[] };
}

describe.skipIf(!available && process.env.CI !== 'true')('cfn-lint', () => {
  it('finds no error and no warning in any synthesized template (dev and prod, nested stacks too)', async () => {
    const specs = [...(await examplePipelines()), ...(await fixturePipelines('payments', 'manual'))];
    const templates: string[] = [];
    for (const stage of ['dev', 'prod']) {
      const { outdir } = synthSluice({ stage, specs, githubRepository: 'acme/sluice' });
      templates.push(
        ...readdirSync(outdir)
          .filter((f) => f.endsWith('.template.json'))
          .map((f) => join(outdir, f)),
      );
    }
    expect(templates.length).toBeGreaterThanOrEqual(2 * (specs.length + 1));

    const run = spawnSync(
      CFN_LINT,
      ['--config-file', join(REPO_ROOT, '.cfnlintrc.yaml'), '--format', 'json', '--', ...templates],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    if (run.error) throw run.error;
    const findings = (JSON.parse(run.stdout || '[]') as Finding[]).filter((f) => {
      const template = JSON.parse(readFileSync(f.Filename, 'utf8')) as {
        Resources: Record<string, { Type: string }>;
      };
      const type = template.Resources[String(f.Location.Path[1])]?.Type;
      return !SCHEMA_LAGS.some(
        (lag) => lag.rule === f.Rule.Id && lag.type === type && f.Message.includes(lag.message),
      );
    });
    const readable = findings.map(
      (f) =>
        `${f.Level} ${f.Rule.Id} ${f.Filename.split('/').pop()} ${f.Location.Path.join('.')}: ${f.Message}`,
    );
    expect(readable).toEqual([]);
    expect(run.stderr).toBe('');
  }, 600_000);
});
