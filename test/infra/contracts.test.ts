import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { handlerEnvSchema } from '../../functions/handlers/env.js';
import { resolveIntrinsics } from './support/intrinsics.js';
import { cdkJsonContext, REPO_ROOT } from './support/synth.js';
import { type CfnResource, resources, roleOf, statementsGranting, statementsOf } from './support/template.js';

/**
 * The contract between each handler's code and its construct, checked on the real bundles: `bin/app.ts`
 * synthesized as `cdk synth -c stage=prod` runs it (esbuild bundling on, no AWS credentials in the
 * environment), then each function's bundle read for the environment variables and SDK commands in it.
 */

interface BundledFunction {
  handler: string;
  /** The pipeline a step function belongs to (its description starts with it); undefined for platform functions. */
  pipeline: string | undefined;
  template: Template;
  resource: CfnResource;
  bundle: string;
  env: Record<string, string>;
}

/** Logical id prefix of each handler's function, in the platform or a pipeline's nested stack. */
const HANDLERS: Record<string, RegExp> = {
  prepare: /^PipelinePrepareFunction[0-9A-F]{8}$/,
  'process-chunks': /^PipelineProcessChunksFunction[0-9A-F]{8}$/,
  commit: /^PipelineCommitFunction[0-9A-F]{8}$/,
  fail: /^PipelineFailFunction[0-9A-F]{8}$/,
  'start-run': /^PipelineStartRunFunction[0-9A-F]{8}$/,
  migrate: /^MigrationsFunction[0-9A-F]{8}$/,
};

/** The handlers each pipeline has its own function of. */
const STEP_HANDLERS = ['prepare', 'process-chunks', 'commit', 'fail'];

/** Each source connector's description: what a bundle that carries it must contain. */
const CONNECTOR_DESCRIPTION: Record<string, string> = {
  files: 'CSV or JSON Lines files',
  http: 'HTTP JSON API',
  mysql: 'MySQL or MariaDB table',
  parquet: 'Parquet files in a folder',
  postgres: 'PostgreSQL table or query',
};
/**
 * Each example pipeline in pipelines/ and its source connector's description (what its bundle must
 * contain), read from the specs themselves so a new example is covered, not silently left out.
 */
const EXAMPLE_SOURCES: Record<string, string> = Object.fromEntries(
  readdirSync(join(REPO_ROOT, 'pipelines'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => {
      const connector = /^\s+connector:\s*(\S+)/m.exec(
        readFileSync(join(REPO_ROOT, 'pipelines', f), 'utf8'),
      )?.[1];
      const description = CONNECTOR_DESCRIPTION[connector ?? ''];
      if (!description)
        throw new Error(`pipelines/${f}: source connector ${connector} has no description here`);
      return [f.replace(/\.yaml$/, ''), description];
    }),
);
/** `files` lives in the registry itself, so every bundle has it (functions/tooling/connector-discovery.ts). */
const ALWAYS_BUNDLED = 'CSV or JSON Lines files';
const CONNECTOR_MARKERS = [
  'CSV or JSON Lines files',
  'HTTP JSON API',
  'MySQL or MariaDB table',
  'Parquet files in a folder',
  'PostgreSQL table or query',
  'caching_sha2_password', // mysql2's authentication plugin
];

/** SDK operation → the IAM action it needs. */
const IAM_ACTION: Record<string, string> = {
  GetObject: 's3:GetObject',
  HeadObject: 's3:GetObject',
  PutObject: 's3:PutObject',
  CreateMultipartUpload: 's3:PutObject',
  UploadPart: 's3:PutObject',
  CompleteMultipartUpload: 's3:PutObject',
  AbortMultipartUpload: 's3:AbortMultipartUpload',
  ListObjectsV2: 's3:ListBucket',
  ListObjectVersions: 's3:ListBucketVersions',
  DeleteObjects: 's3:DeleteObject',
  GetSecretValue: 'secretsmanager:GetSecretValue',
  PutEvents: 'events:PutEvents',
  StartExecution: 'states:StartExecution',
};

/** Commands every bundle carries for the SDK's credential chain (STS, SSO) and S3 Express sessions: Lambda's credentials come from its environment, so they are never sent. */
const SDK_INTERNALS = new Set([
  'AssumeRole',
  'AssumeRoleWithWebIdentity',
  'CreateOAuth2Token',
  'CreateOAuth2TokenWithIAM',
  'CreateToken',
  'GetRoleCredentials',
  'CreateSession',
]);

const NO_TAGS =
  "@aws-sdk/lib-storage's Upload tags objects only when given tags; the S3 storage adapter never passes any";
/** Commands bundled through a shared module that a handler does not send, and why. */
const NO_ANCHOR =
  'the S3 Object Lock audit anchor (functions/handlers/runtime.ts) is built only from SLUICE_AUDIT_ANCHOR_BUCKET, which only commit and fail get';
const NOT_SENT: Record<string, Record<string, string>> = {
  prepare: { PutObjectTagging: NO_TAGS, ListObjectVersions: NO_ANCHOR },
  'process-chunks': { PutObjectTagging: NO_TAGS, ListObjectVersions: NO_ANCHOR },
  commit: { PutObjectTagging: NO_TAGS },
  fail: { PutObjectTagging: NO_TAGS },
};

/** Variables the handlers' code names that AWS must not set, and why. */
const NOT_IN_AWS: Record<string, string> = {
  SLUICE_STAGING_DIR: 'local runs: staging in a folder',
  DATABASE_URL: 'local runs and tests: a PostgreSQL URL instead of the secret',
  SLUICE_STATE_MACHINE_ARN: 'in the shared handler schema for the starter function only',
  SLUICE_ALLOWED_ROOTS: 'local runs: folders a local location may read besides the spec folder (none in AWS)',
};

/** Variables a shared module names that some handlers must not get, and why. */
const ANCHOR_VARS = [
  'SLUICE_AUDIT_ANCHOR_BUCKET',
  'SLUICE_AUDIT_ANCHOR_MODE',
  'SLUICE_AUDIT_ANCHOR_RETENTION_DAYS',
];
const NOT_SET_FOR: Record<string, string[]> = { prepare: ANCHOR_VARS, 'process-chunks': ANCHOR_VARS };

/** The Powertools variables every function must set (the other POWERTOOLS_* are optional switches). */
const POWERTOOLS = ['POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_METRICS_NAMESPACE'];

let outdir: string;
let functions: BundledFunction[];

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'sluice-app-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CDK_OUTDIR: outdir,
    CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJsonContext(), stage: 'prod' }),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
    cwd: REPO_ROOT,
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const templates = readdirSync(outdir)
    .filter((f) => f.endsWith('.template.json'))
    .map((f) => Template.fromJSON(JSON.parse(readFileSync(join(outdir, f), 'utf8'))));
  functions = templates.flatMap((template) =>
    Object.entries(resources(template, 'AWS::Lambda::Function')).flatMap(([id, resource]) => {
      const handler = Object.entries(HANDLERS).find(([, pattern]) => pattern.test(id))?.[0];
      if (!handler) return [];
      const key = (resource.Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
      const bundle = readFileSync(join(outdir, `asset.${key}`, 'index.mjs'), 'utf8');
      const vars = (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      const env = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, resolveIntrinsics(v)]));
      const description = String(resource.Properties.Description ?? '');
      const pipeline = STEP_HANDLERS.includes(handler) ? description.split(':')[0] : undefined;
      return [{ handler, pipeline, template, resource, bundle, env }];
    }),
  );
  // The real `cdk synth` bundles every function with esbuild: four per example pipeline (two examples
  // now) plus the starter and the migration function. Alone it takes ~90 s here; the default hook
  // timeout (120 s) was sized for one example.
}, 300_000);

const sdkOperations = (bundle: string) =>
  [
    ...new Set(
      [...bundle.matchAll(/class extends [\w$]+\([\w$]+,[\w$]+,"(\w+)",[\w$]+\)\{\}/g)].map((m) => m[1]!),
    ),
  ].sort();

describe('bin/app.ts synthesized like cdk synth -c stage=prod', () => {
  it('needs no credentials, network or Docker, and bundles every handler with esbuild', () => {
    expect(existsSync(join(outdir, 'manifest.json'))).toBe(true);
    expect([...new Set(functions.map((f) => f.handler))].sort()).toEqual([
      'commit',
      'fail',
      'migrate',
      'prepare',
      'process-chunks',
      'start-run',
    ]);
    expect(functions.filter((f) => f.handler === 'migrate')).toHaveLength(1);
    // Every example pipeline has its own four step functions, once.
    for (const pipeline of Object.keys(EXAMPLE_SOURCES))
      expect(
        functions
          .filter((f) => f.pipeline === pipeline)
          .map((f) => f.handler)
          .sort(),
        pipeline,
      ).toEqual(['commit', 'fail', 'prepare', 'process-chunks']);
    expect(new Set(functions.filter((f) => f.pipeline).map((f) => f.pipeline))).toEqual(
      new Set(Object.keys(EXAMPLE_SOURCES)),
    );
  });

  it('bundles ESM for Node with the AWS SDK inside and never PGlite', () => {
    for (const f of functions) {
      expect(f.bundle, f.handler).toMatch(/^import\{createRequire\}from"module"|^import \{ createRequire \}/);
      expect(f.bundle, f.handler).not.toMatch(/from\s*"@aws-sdk\//);
      expect(f.bundle, f.handler).not.toMatch(/from\s*"@electric-sql\/pglite"/);
    }
  });

  it("bundles only each pipeline's own source connector (orders reads files, the customers examples PostgreSQL)", () => {
    expect(Object.keys(EXAMPLE_SOURCES).sort()).toEqual([
      'customers-cdc',
      'customers-history',
      'customers-pg',
      'orders',
    ]);
    const readers = functions.filter((x) => ['prepare', 'process-chunks'].includes(x.handler));
    expect(readers).toHaveLength(2 * Object.keys(EXAMPLE_SOURCES).length);
    for (const f of readers) {
      const own = EXAMPLE_SOURCES[f.pipeline ?? ''];
      const where = `${f.pipeline} ${f.handler}`;
      expect(own, `${where}: an example pipeline`).toBeDefined();
      expect(f.bundle, where).toContain(own);
      for (const marker of CONNECTOR_MARKERS.filter((m) => m !== own && m !== ALWAYS_BUNDLED))
        expect(f.bundle.includes(marker), `${where}: ${marker}`).toBe(false);
      expect(f.bundle, where).not.toMatch(/SLUICE_OMIT_CONNECTOR_/);
    }
  });
});

describe('every environment variable a handler reads is set by its construct', () => {
  it('for the SLUICE_ variables its code names', () => {
    for (const f of functions) {
      const named = [...new Set([...f.bundle.matchAll(/\b(SLUICE_[A-Z_]*[A-Z])\b/g)].map((m) => m[1]!))];
      const notForThis = NOT_SET_FOR[f.handler] ?? [];
      const missing = named.filter(
        (v) => f.env[v] === undefined && !(v in NOT_IN_AWS) && !notForThis.includes(v),
      );
      expect(missing, f.handler).toEqual([]);
      // Only commit and fail write the audit anchor: the others must not even know the bucket.
      expect(
        notForThis.filter((v) => f.env[v] !== undefined),
        f.handler,
      ).toEqual([]);
      const wronglySet = Object.keys(NOT_IN_AWS).filter(
        (v) => f.env[v] !== undefined && !(f.handler === 'start-run' && v === 'SLUICE_STATE_MACHINE_ARN'),
      );
      expect(wronglySet, f.handler).toEqual([]);
    }
  });

  it('for Powertools: service name, log level and metrics namespace', () => {
    for (const f of functions) for (const v of POWERTOOLS) expect(f.env[v], `${f.handler} ${v}`).toBeTruthy();
  });

  it("and the step handlers' environment passes the handler schema (functions/handlers/env.ts)", () => {
    for (const f of functions.filter((x) =>
      ['prepare', 'process-chunks', 'commit', 'fail'].includes(x.handler),
    )) {
      const parsed = handlerEnvSchema.safeParse(f.env);
      expect(parsed.error?.issues ?? [], f.handler).toEqual([]);
      expect(f.env.SLUICE_DATABASE_HOST, 'the RDS Proxy endpoint').toMatch(/\.proxy-/);
    }
  });

  it('and so does the chunk worker container of every pipeline, which runs the same code', () => {
    const workers = functions.filter((f) => f.handler === 'process-chunks');
    expect(workers.map((f) => f.pipeline).sort()).toEqual(Object.keys(EXAMPLE_SOURCES).sort());
    for (const { template, pipeline } of workers) {
      const [task] = Object.values(resources(template, 'AWS::ECS::TaskDefinition'));
      const [container] = task!.Properties.ContainerDefinitions as {
        Environment: { Name: string; Value: unknown }[];
      }[];
      const env = Object.fromEntries(container!.Environment.map((e) => [e.Name, resolveIntrinsics(e.Value)]));
      expect(handlerEnvSchema.safeParse(env).error?.issues ?? [], pipeline).toEqual([]);
      for (const v of POWERTOOLS) expect(env[v], `${pipeline}: ${v}`).toBeTruthy();
    }
  });
});

describe('every SDK command a handler sends is granted to its role', () => {
  it('maps every command in the bundles to an IAM action', () => {
    const unknown = functions.flatMap((f) =>
      sdkOperations(f.bundle).filter(
        (op) => !SDK_INTERNALS.has(op) && !IAM_ACTION[op] && !NOT_SENT[f.handler]?.[op],
      ),
    );
    expect(unknown).toEqual([]);
  });

  it.each(Object.keys(HANDLERS))('%s', (handler) => {
    for (const f of functions.filter((x) => x.handler === handler)) {
      const statements = statementsOf(f.template, roleOf(f.resource));
      const sent = sdkOperations(f.bundle).filter((op) => !SDK_INTERNALS.has(op) && !NOT_SENT[handler]?.[op]);
      expect(sent.length).toBeGreaterThan(0);
      const ungranted = sent
        .filter((op) => statementsGranting(statements, IAM_ACTION[op]!).length === 0)
        .map((op) => `${op} (${IAM_ACTION[op]})`);
      expect(ungranted).toEqual([]);
      if (sent.includes('PutObject')) {
        expect(
          statementsGranting(statements, 'kms:GenerateDataKey').length,
          'SSE-KMS writes need the key',
        ).toBeGreaterThan(0);
      }
    }
  });
});
