import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config.js';
import { ChunkWorkerImage, ChunkWorkerTask } from '../../lib/constructs/chunk-worker.js';
import { SluiceNetwork } from '../../lib/constructs/network.js';
import { SluiceFunction } from '../../lib/constructs/sluice-function.js';
import { WarehouseDatabase } from '../../lib/constructs/warehouse-database.js';
import { fargateSizeProblem } from '../../lib/fargate-sizes.js';
import { GitHubDeployStack } from '../../lib/github-deploy-stack.js';
import { cdkJsonContext, REPO_ROOT } from './support/synth.js';
import { resources } from './support/template.js';

/** Issue 13 item 5: the rough edges a first deploy and the first weeks would hit. */

function databaseStack(removalPolicy?: RemovalPolicy): Template {
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Db');
  const net = new SluiceNetwork(stack, 'Net', { encryptionKey: new kms.Key(stack, 'NetKey') });
  new WarehouseDatabase(stack, 'Db', {
    vpc: net.vpc,
    encryptionKey: new kms.Key(stack, 'Key'),
    clusterIdentifier: 'sluice-test',
    secretsManagerEndpoint: net.interfaceEndpoints.SecretsManager,
    readers: 1,
    ...(removalPolicy ? { removalPolicy } : {}),
  });
  return Template.fromStack(stack);
}

describe('day-2 fixes (13.5)', () => {
  it('schedules the admin secret rotation after the writer and readers exist', () => {
    const t = databaseStack();
    const instances = Object.keys(resources(t, 'AWS::RDS::DBInstance'));
    expect(instances).toHaveLength(2);
    // The admin secret's and each runtime login's.
    const schedules = Object.values(resources(t, 'AWS::SecretsManager::RotationSchedule'));
    expect(schedules).toHaveLength(4);
    for (const schedule of schedules) {
      const dependsOn = [schedule.DependsOn ?? []].flat();
      for (const instance of instances) expect(dependsOn).toContain(instance);
    }
  });

  it('keeps the admin secret when the cluster is retained, and only then', () => {
    const secretPolicy = (t: Template) =>
      Object.values(resources(t, 'AWS::SecretsManager::Secret')).map((s) => s.DeletionPolicy);
    // The admin secret and the three login secrets.
    expect(secretPolicy(databaseStack(RemovalPolicy.RETAIN))).toEqual(Array(4).fill('Retain'));
    expect(secretPolicy(databaseStack(RemovalPolicy.DESTROY))).toEqual(Array(4).fill('Delete'));
  });

  it('references an existing GitHub OIDC provider by ARN instead of creating a second one', () => {
    const arn = 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com';
    const t = Template.fromStack(
      new GitHubDeployStack(new App(), 'Gh', { repository: 'acme/sluice', oidcProviderArn: arn }),
    );
    t.resourceCountIs('AWS::IAM::OIDCProvider', 0);
    t.resourceCountIs('Custom::AWSCDKOpenIdConnectProvider', 0);
    const [role] = Object.values(resources(t, 'AWS::IAM::Role'));
    expect(JSON.stringify(role?.Properties.AssumeRolePolicyDocument)).toContain(arn);
  });

  it('fails when the OIDC provider ARN is not GitHub’s provider', () => {
    expect(
      () =>
        new GitHubDeployStack(new App(), 'Gh', {
          repository: 'acme/sluice',
          oidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/accounts.google.com',
        }),
    ).toThrow(/githubOidcProviderArn must be the ARN of the account's GitHub OIDC provider/);
  });

  it('accepts exactly the Fargate CPU/memory pairs of the ECS table', () => {
    expect(fargateSizeProblem(2048, 8192)).toBeUndefined();
    expect(fargateSizeProblem(256, 2048)).toBeUndefined();
    expect(fargateSizeProblem(8192, 61440)).toBeUndefined();
    expect(fargateSizeProblem(16384, 32768 + 8192)).toBeUndefined();
    expect(fargateSizeProblem(256, 1536)).toMatch(/allowed: 512, 1024 or 2048 MiB/);
    expect(fargateSizeProblem(1024, 16384)).toBe(
      'memoryMiB 16384 is not valid with cpu 1024 on Fargate (allowed: 2048 to 8192 in steps of 1024 MiB)',
    );
    expect(fargateSizeProblem(8192, 17408)).toMatch(/16384 to 61440 in steps of 4096/);
    expect(fargateSizeProblem(3000, 8192)).toMatch(/cpu 3000 is not a Fargate CPU value/);
  });

  it('fails a stage whose worker size Fargate does not offer, naming the field', () => {
    expect(() => resolveStageConfig('dev', { dev: { worker: { cpu: 1024, memoryMiB: 16384 } } })).toThrow(
      'sluice:stages.dev.worker.memoryMiB: memoryMiB 16384 is not valid with cpu 1024 on Fargate',
    );
    expect(() => resolveStageConfig('dev', { dev: { worker: { cpu: 1000, memoryMiB: 2048 } } })).toThrow(
      /sluice:stages\.dev\.worker\.cpu: must be a Fargate CPU value/,
    );
  });

  it('fails a worker task construct given an invalid size', () => {
    const stack = new Stack(new App(), 'W');
    expect(
      () =>
        new ChunkWorkerTask(stack, 'Worker', {
          family: 'f',
          image: new ChunkWorkerImage(stack, 'Image'),
          environment: {},
          encryptionKey: new kms.Key(stack, 'Key'),
          serviceName: 's',
          metricsNamespace: 'n',
          cpu: 4096,
          memoryLimitMiB: 4096,
        }),
    ).toThrow('W/Worker: memoryMiB 4096 is not valid with cpu 4096 on Fargate');
  });

  it('ships no source maps: a bundled function has no .map and no --enable-source-maps', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'sluice-bundle-'));
    const app = new App({ outdir, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': ['**'] } });
    const stack = new Stack(app, 'Bundled');
    const net = new SluiceNetwork(stack, 'Net', { encryptionKey: new kms.Key(stack, 'NetKey') });
    new SluiceFunction(stack, 'Fn', {
      handler: 'fail',
      description: 'bundled',
      invocation: { kind: 'synchronous', caller: 'a test' },
      vpc: net.vpc,
      securityGroups: [],
      encryptionKey: new kms.Key(stack, 'Key'),
      environment: {},
      serviceName: 's',
      metricsNamespace: 'n',
      unreservedConcurrencyReason: 'a test function that is never deployed',
    });
    const t = Template.fromStack(stack);
    app.synth();

    const fn = Object.values(resources(t, 'AWS::Lambda::Function')).find(
      (f) => f.Properties.Description === 'bundled',
    );
    const variables = (fn?.Properties.Environment as { Variables?: object } | undefined)?.Variables ?? {};
    expect(Object.keys(variables)).not.toContain('NODE_OPTIONS');
    const assets = readdirSync(outdir).filter((d) => d.startsWith('asset.'));
    const files = assets.flatMap((d) => readdirSync(join(outdir, d)));
    expect(files).toContain('index.mjs');
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    const dockerfile = readFileSync(join(REPO_ROOT, 'container/Dockerfile'), 'utf8');
    expect(dockerfile).not.toMatch(/--sourcemap|--enable-source-maps/);
  }, 120_000);
});
