import type { Storage } from '../ports/storage.js';
import type { PipelineSpec } from '../spec/schema.js';
import { stagingLayout } from './layout.js';

/** The spec a run was prepared with, frozen in staging so every step of the run uses the same one. */
export interface RunSpec {
  spec: PipelineSpec;
  specHash: string;
  specLocation: string;
  /** Directory relative source locations resolve against (the spec file's folder). */
  baseDir: string;
  /** The run's chunks deliver change events (CDC): they are staged with their op, position and instant. */
  changes?: boolean;
}

const cache = new Map<string, RunSpec>();

export async function writeRunSpec(staging: Storage, runId: string, runSpec: RunSpec): Promise<void> {
  await staging.write(stagingLayout.spec(runId), JSON.stringify(runSpec));
  cache.set(runId, runSpec);
}

/** The run's frozen spec; cached per warm container since a run's spec never changes. */
export async function readRunSpec(staging: Storage, runId: string): Promise<RunSpec> {
  const hit = cache.get(runId);
  if (hit) return hit;
  const runSpec = JSON.parse(
    (await staging.readBytes(stagingLayout.spec(runId))).toString('utf8'),
  ) as RunSpec;
  if (cache.size > 100) cache.clear();
  cache.set(runId, runSpec);
  return runSpec;
}
