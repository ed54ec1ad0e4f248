import type { PipelineSpec } from '../spec/schema.js';
import { stagingLayout } from './layout.js';

/**
 * What Prepare hands the state machine: pointers and numbers only (well under 256 KB whatever the data
 * size): the run's manifests in staging, and the Map's settings.
 */
export interface PrepareOutput {
  runId: string;
  manifests: { lambda: string; fargate: string };
  lambdaChunks: number;
  fargateChunks: number;
  skippedSources: number;
  map: {
    chunksPerBatch: number;
    maxConcurrency: number;
    fargateConcurrency: number;
    toleratedFailurePercentage: number;
  };
}

/**
 * Prepare's output for a planned run (a new one, or one resumed for redrive): the manifests in staging
 * and the Map settings from the spec. `maxConcurrency` overrides the spec's for this run.
 */
export function prepareOutput(
  runId: string,
  spec: PipelineSpec,
  planned: { lambdaChunks: number; fargateChunks: number; skippedSources: number },
  maxConcurrency = spec.runtime.concurrency,
): PrepareOutput {
  return {
    runId,
    manifests: { lambda: stagingLayout.lambdaItems(runId), fargate: stagingLayout.fargateItems(runId) },
    ...planned,
    map: {
      chunksPerBatch: spec.chunking.chunksPerBatch,
      maxConcurrency,
      fargateConcurrency: Math.max(1, Math.min(spec.runtime.concurrency, 16)),
      toleratedFailurePercentage: spec.runtime.toleratedFailurePercentage,
    },
  };
}
