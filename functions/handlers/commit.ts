import { commitPreparedRun } from '../engine/run/commit.js';
import { eventSinkFromEnv } from './events.js';
import { metrics } from './powertools.js';
import { makeStepHandler } from './step-handler.js';

/** Commit state: quality checks and the one transaction that makes the run visible. */
export const handler = makeStepHandler(
  async (event, deps) => {
    const summary = await commitPreparedRun(event, deps);
    metrics.addDimension('pipeline', summary.pipeline);
    metrics.addMetric('RowsLoaded', 'Count', summary.loaded);
    metrics.addMetric('RowsRejected', 'Count', summary.rejected);
    metrics.addMetric('RejectRatio', 'Percent', summary.read ? (100 * summary.rejected) / summary.read : 0);
    metrics.addMetric('RunSucceeded', 'Count', 1);
    return summary;
  },
  { events: eventSinkFromEnv },
);
