import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Annotations, App } from 'aws-cdk-lib';
import { loadSpecFile } from '../functions/engine/spec/load.js';
import { type LoadedSpec, SpecError } from '../functions/engine/spec/parse.js';
import { resolveStageConfig, STAGES_CONTEXT_KEY } from '../lib/config.js';
import { buildSluiceApp } from '../lib/sluice-app.js';

/**
 * The CDK app: `npx cdk synth|deploy -c stage=<dev|staging|prod>`. Reads the stage's configuration from
 * cdk.json (validated), loads and validates every spec in pipelines/, and builds the stage's stacks.
 * Env-agnostic: it never needs credentials, the network or Docker to synthesize.
 */
const app = new App();
const { stage, config } = resolveStageConfig(
  app.node.tryGetContext('stage'),
  app.node.tryGetContext(STAGES_CONTEXT_KEY),
);
const pipelinesDir = resolve(String(app.node.tryGetContext('sluice:pipelinesDir') ?? 'pipelines'));
const specs = await loadPipelineSpecs(pipelinesDir);
const githubRepository = app.node.tryGetContext('githubRepository') as string | undefined;
const githubOidcProviderArn = app.node.tryGetContext('githubOidcProviderArn') as string | undefined;

const { platform } = buildSluiceApp(app, {
  stage,
  config,
  pipelines: specs.map((s) => ({ spec: s.spec, contentHash: s.contentHash })),
  ...(githubRepository ? { githubRepository } : {}),
  ...(githubOidcProviderArn ? { githubOidcProviderArn } : {}),
});
if (specs.length === 0) {
  Annotations.of(platform).addWarningV2(
    'sluice:noPipelines',
    `no pipeline specs in ${pipelinesDir}: deploying the platform alone`,
  );
}

/** Every `*.yaml` / `*.yml` spec of the folder, validated; all problems of all files in one error. */
async function loadPipelineSpecs(dir: string): Promise<LoadedSpec[]> {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
  } catch {
    return [];
  }
  const results = await Promise.allSettled(files.map((f) => loadSpecFile(join(dir, f))));
  const problems = results.flatMap((r) =>
    r.status === 'rejected' ? [r.reason instanceof SpecError ? r.reason.message : String(r.reason)] : [],
  );
  const loaded = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const seen = new Map<string, string>();
  for (const l of loaded) {
    const other = seen.get(l.spec.name);
    if (other) problems.push(`${l.file}: pipeline name "${l.spec.name}" is also used by ${other}`);
    seen.set(l.spec.name, l.file);
  }
  if (problems.length > 0) throw new Error(`invalid pipeline specs:\n${problems.join('\n')}`);
  return loaded;
}
