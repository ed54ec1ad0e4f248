import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { loadSpecFile } from '../../../functions/engine/spec/load.js';
import type { LoadedSpec } from '../../../functions/engine/spec/parse.js';
import { resolveStageConfig, STAGES_CONTEXT_KEY } from '../../../lib/config.js';
import type { SluicePlatformStack } from '../../../lib/platform-stack.js';
import { buildSluiceApp } from '../../../lib/sluice-app.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** cdk.json's context: the same feature flags and stage configurations `cdk synth` uses. */
export function cdkJsonContext(): Record<string, unknown> {
  return (
    JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
  ).context;
}

/** The example pipelines (pipelines/*.yaml), as bin/app.ts loads them. */
export async function examplePipelines(): Promise<LoadedSpec[]> {
  const dir = join(REPO_ROOT, 'pipelines');
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  return Promise.all(files.map((f) => loadSpecFile(join(dir, f))));
}

export async function fixturePipelines(...names: string[]): Promise<LoadedSpec[]> {
  return Promise.all(names.map((n) => loadSpecFile(join(FIXTURES, `${n}.yaml`))));
}

export interface SynthOptions {
  stage?: string;
  specs: LoadedSpec[];
  /** Bundle the Lambda handlers with esbuild (slow); otherwise assets are placeholders. */
  bundle?: boolean;
  githubRepository?: string;
  /** Extra context, e.g. a stage configuration override. */
  context?: Record<string, unknown>;
}

export interface SynthResult {
  app: App;
  platform: SluicePlatformStack;
  assembly: CloudAssembly;
  /** Template of the platform stack. */
  template: Template;
  /** Template of each pipeline's nested stack, by pipeline name. */
  pipelines: Record<string, Template>;
  outdir: string;
}

/** Synthesizes the app as `cdk synth` would (nag packs on), once; tests share the result. */
export function synthSluice(options: SynthOptions): SynthResult {
  const context = { ...cdkJsonContext(), ...(options.context ?? {}) };
  const stage = options.stage ?? 'prod';
  const outdir = mkdtempSync(join(tmpdir(), 'sluice-cdk-'));
  const app = new App({
    outdir,
    context: { ...context, stage, 'aws:cdk:bundling-stacks': options.bundle ? ['**'] : [] },
  });
  const { config } = resolveStageConfig(stage, context[STAGES_CONTEXT_KEY]);
  const { platform } = buildSluiceApp(app, {
    stage,
    config,
    pipelines: options.specs.map((s) => ({ spec: s.spec, contentHash: s.contentHash })),
    ...(options.githubRepository ? { githubRepository: options.githubRepository } : {}),
  });
  const assembly = app.synth();
  const pipelines = Object.fromEntries(
    platform.pipelines.map((nested) => [nested.pipeline.name, Template.fromStack(nested)]),
  );
  return { app, platform, assembly, template: Template.fromStack(platform), pipelines, outdir };
}
