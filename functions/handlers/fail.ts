import { markRunFailed } from '../engine/run/fail.js';
import { eventSinkFromEnv } from './events.js';
import { metrics } from './powertools.js';
import { makeStepHandler } from './step-handler.js';

/** MarkFailed state: record the failure, release the lock, keep staging for redrive. */
export const handler = makeStepHandler(
  async (event, deps) => {
    const out = await markRunFailed(event, deps);
    metrics.addMetric('RunFailed', 'Count', 1);
    return out;
  },
  { events: eventSinkFromEnv },
);
