import { prepareInputSchema, prepareRun } from '../engine/run/prepare.js';
import { metrics } from './powertools.js';
import { makeStepHandler } from './step-handler.js';

/** Prepare state: lock, plan, write manifests; returns pointers only. */
export const handler = makeStepHandler(async (event, deps) => {
  const input = prepareInputSchema.parse(event);
  const out = await prepareRun(input, {
    ...deps,
    holder: input.executionId ?? deps.holder,
    // Same namespace and service as RejectRatio; the alarm on it lives with the pipeline's monitoring.
    onSourceLag: (lagBytes) => {
      metrics.addDimension('pipeline', input.pipeline);
      metrics.addMetric('ReplicationSlotLagBytes', 'Bytes', lagBytes);
    },
  });
  metrics.addMetric('ChunksPlanned', 'Count', out.lambdaChunks + out.fargateChunks);
  return out;
});
