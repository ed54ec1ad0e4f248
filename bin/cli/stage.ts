import { SFNClient } from '@aws-sdk/client-sfn';
import { type CloudRunEvent, followExecution, resolveStateMachineArn, startCloudRun } from './cloud.js';
import { formatSummary, ProgressDisplay } from './progress.js';

/**
 * `--stage <s>`: the same commands against a deployed stage. Credentials and region come from the usual
 * AWS chain (AWS_PROFILE, AWS_REGION, SSO, ...); nothing about the account is stored here.
 */

export async function runInStage(
  pipeline: string,
  stage: string,
  opts: { fullRefresh?: boolean; json?: boolean },
) {
  await startAndFollow({
    pipeline,
    stage,
    input: opts.fullRefresh ? { fullRefresh: true } : {},
    started: (name) => `started ${name} in ${stage}`,
    ...(opts.json ? { json: true } : {}),
  });
}

/**
 * Redrives a failed or killed run in AWS: a new execution whose Prepare resumes the run (`{ redrive: {
 * runId } }`) instead of planning one, so only chunks missing from its ledger load, then it commits.
 * (Step Functions' RedriveExecution would restart at the Fail state that follows MarkFailed.)
 */
export async function redriveInStage(
  runId: string,
  pipeline: string,
  stage: string,
  opts: { json?: boolean },
) {
  await startAndFollow({
    pipeline,
    stage,
    input: { redrive: { runId }, trigger: { type: 'redrive', by: 'sluice-cli', runId } },
    executionName: `redrive-${runId}-${Date.now().toString(36)}`.slice(0, 80),
    started: (name) => `redriving run ${runId} as ${name} in ${stage}`,
    ...(opts.json ? { json: true } : {}),
  });
}

/** Starts an execution of a pipeline's state machine and follows it with the local run's display. */
async function startAndFollow(options: {
  pipeline: string;
  stage: string;
  input: Record<string, unknown>;
  executionName?: string;
  started: (executionName: string) => string;
  json?: boolean;
}) {
  const sfn = new SFNClient({});
  const display = new ProgressDisplay();
  const stateMachineArn = await resolveStateMachineArn({
    sfn,
    stage: options.stage,
    pipeline: options.pipeline,
  });
  const onProgress = (e: CloudRunEvent) => {
    if (e.type === 'started') process.stderr.write(`${options.started(e.executionName)}\n`);
    else if (e.type === 'planned') display.planned(e);
    else display.chunkDone(e.chunkId, e.counts, e.status);
  };
  const { executionArn } = await startCloudRun({
    sfn,
    stateMachineArn,
    pipeline: options.pipeline,
    input: options.input,
    ...(options.executionName ? { executionName: options.executionName } : {}),
    onProgress,
  });
  const result = await followExecution({ sfn, executionArn, onProgress }).finally(() => display.stop());
  report(result, options.json);
}

function report(result: Awaited<ReturnType<typeof followExecution>>, json?: boolean) {
  if (result.status === 'SUCCEEDED' && result.summary) {
    process.stdout.write(
      json ? `${JSON.stringify(result.summary, null, 2)}\n` : `${formatSummary(result.summary)}\n`,
    );
    return;
  }
  process.stderr.write(
    `run ${result.executionArn} ${result.status.toLowerCase()}: ${result.error ?? ''} ${result.cause ?? ''}\n`,
  );
  process.exitCode = 1;
}
