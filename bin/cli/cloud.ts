import { randomUUID } from 'node:crypto';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  ListMapRunsCommand,
  ListStateMachinesCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { ChunkCounts, RunSummary } from '../../functions/engine/types.js';
import type { LocalRunEvent } from '../../functions/local/runner.js';
import { stateMachineName } from '../../lib/naming.js';

/**
 * Operating a deployed stage from the CLI: start a run of a pipeline's state machine and follow it with
 * the same events as a local run (`planned`, then one `chunk` per loaded chunk), list runs with their
 * counts, redrive a failed run. Pure functions: the Step Functions client is an argument.
 */

export class CloudRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CloudRunError';
  }
}

export type CloudRunEvent =
  | { type: 'started'; executionArn: string; executionName: string }
  | (Extract<LocalRunEvent, { type: 'planned' }> & {
      /** Not reported by the state machine: 0. */
      bytes: number;
    })
  | {
      type: 'chunk';
      runId: string;
      chunkId: string;
      status: 'loaded' | 'already-loaded';
      counts: ChunkCounts;
      bytes: number;
      /** False for chunks loaded on Fargate: the task reports no counts (they are in the summary). */
      countsKnown: boolean;
    };

export type TerminalStatus = Exclude<ExecutionStatus, 'RUNNING' | 'PENDING_REDRIVE'>;

export interface CloudRunResult {
  executionArn: string;
  status: TerminalStatus;
  /** What the Commit state returned, for a succeeded run. */
  summary?: RunSummary;
  /** The error and cause Step Functions recorded, for any other outcome. */
  error?: string;
  cause?: string;
}

/**
 * The ARN of a pipeline's state machine in a stage (`sluice-<stage>-<pipeline>`), found by name in the
 * account and region of the client: no account id is written anywhere.
 */
export async function resolveStateMachineArn(options: {
  sfn: SFNClient;
  stage: string;
  pipeline: string;
}): Promise<string> {
  const wanted = stateMachineName(options.stage, options.pipeline);
  const sameStage: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await options.sfn.send(new ListStateMachinesCommand({ maxResults: 1000, nextToken }));
    for (const sm of page.stateMachines ?? []) {
      if (sm.name === wanted && sm.stateMachineArn) return sm.stateMachineArn;
      if (sm.name?.startsWith(`sluice-${options.stage}-`))
        sameStage.push(sm.name.slice(`sluice-${options.stage}-`.length));
    }
    nextToken = page.nextToken;
  } while (nextToken);
  const known = sameStage.length
    ? `pipelines deployed in ${options.stage}: ${sameStage.sort().join(', ')}`
    : `nothing is deployed in stage ${options.stage}`;
  throw new CloudRunError(
    `no state machine ${wanted} in this account and region (${known}); deploy with: npx cdk deploy --all -c stage=${options.stage}`,
  );
}

/** Starts a run; its input is what `sluice run` passes locally (fullRefresh, ...) plus a manual trigger. */
export async function startCloudRun(options: {
  sfn: SFNClient;
  stateMachineArn: string;
  pipeline: string;
  input?: Record<string, unknown>;
  onProgress?: (event: CloudRunEvent) => void;
  /** @default `cli-<time>-<random>` */
  executionName?: string;
}): Promise<{ executionArn: string; executionName: string }> {
  const executionName =
    options.executionName ??
    `cli-${new Date()
      .toISOString()
      .replace(/[-:.TZ]/g, '')
      .slice(0, 14)}-${randomUUID().slice(0, 8)}`;
  const input = { trigger: { type: 'manual', by: 'sluice-cli' }, ...(options.input ?? {}) };
  const out = await options.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: options.stateMachineArn,
      name: executionName,
      input: JSON.stringify(input),
    }),
  );
  if (!out.executionArn)
    throw new CloudRunError(
      `Step Functions started ${executionName} of ${options.pipeline} but returned no ARN`,
    );
  options.onProgress?.({ type: 'started', executionArn: out.executionArn, executionName });
  return { executionArn: out.executionArn, executionName };
}

export interface FollowOptions {
  sfn: SFNClient;
  executionArn: string;
  onProgress?: (event: CloudRunEvent) => void;
  /** First pause between polls; it grows while nothing changes. @default 2000 */
  pollIntervalMs?: number;
  /** @default 15000 */
  maxPollIntervalMs?: number;
  /** @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Polls a run until it ends, reporting `planned` once Prepare is done and a `chunk` event per chunk as
 * its batch completes (from the Distributed Map's child executions). Returns the Commit summary, or the
 * recorded error.
 */
export async function followExecution(options: FollowOptions): Promise<CloudRunResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const first = options.pollIntervalMs ?? 2000;
  const max = options.maxPollIntervalMs ?? 15000;
  const progress = new ProgressTracker(options.sfn, options.executionArn, options.onProgress);
  let interval = first;
  for (;;) {
    const execution = await options.sfn.send(
      new DescribeExecutionCommand({ executionArn: options.executionArn }),
    );
    const changed = await progress.poll();
    if (execution.status && execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE') {
      return resultOf(execution, execution.status);
    }
    interval = changed ? first : Math.min(Math.round(interval * 1.5), max);
    await sleep(interval);
  }
}

/** Reads the parts of a run's progress that changed since the last poll. */
class ProgressTracker {
  private runId?: string;
  private historyToken?: string;
  private historyDone = false;
  private readonly seenChildren = new Set<string>();

  constructor(
    private readonly sfn: SFNClient,
    private readonly executionArn: string,
    private readonly emit: ((event: CloudRunEvent) => void) | undefined,
  ) {}

  /** @returns whether anything new was reported */
  async poll(): Promise<boolean> {
    if (!this.emit) return false;
    let changed = false;
    if (!this.runId && !this.historyDone) changed = await this.readPlan();
    if (this.runId) changed = (await this.readChunks()) || changed;
    return changed;
  }

  private async readPlan(): Promise<boolean> {
    do {
      const page = await this.sfn.send(
        new GetExecutionHistoryCommand({
          executionArn: this.executionArn,
          maxResults: 100,
          includeExecutionData: true,
          nextToken: this.historyToken,
        }),
      );
      for (const event of page.events ?? []) {
        const plan = planOf(event);
        if (plan) {
          this.runId = plan.runId;
          this.emit?.({ type: 'planned', ...plan, bytes: 0 });
          return true;
        }
        // Past Prepare without a plan (it failed): nothing more to find in the history.
        if (event.type === 'TaskStateExited' && event.stateExitedEventDetails?.name === 'Prepare')
          this.historyDone = true;
      }
      if (!page.nextToken) return false;
      this.historyToken = page.nextToken;
    } while (this.historyToken);
    return false;
  }

  private async readChunks(): Promise<boolean> {
    const runId = this.runId!;
    let changed = false;
    const mapRuns = await this.sfn.send(new ListMapRunsCommand({ executionArn: this.executionArn }));
    for (const mapRun of mapRuns.mapRuns ?? []) {
      let nextToken: string | undefined;
      do {
        const children = await this.sfn.send(
          new ListExecutionsCommand({
            mapRunArn: mapRun.mapRunArn,
            statusFilter: 'SUCCEEDED',
            maxResults: 100,
            nextToken,
          }),
        );
        for (const child of children.executions ?? []) {
          if (!child.executionArn || this.seenChildren.has(child.executionArn)) continue;
          this.seenChildren.add(child.executionArn);
          const described = await this.sfn.send(
            new DescribeExecutionCommand({ executionArn: child.executionArn }),
          );
          for (const chunk of chunksOf(described.output, runId)) {
            this.emit?.(chunk);
            changed = true;
          }
        }
        nextToken = children.nextToken;
      } while (nextToken);
    }
    return changed;
  }
}

/** The plan Prepare put in `$.run` when it exits. */
function planOf(
  event: HistoryEvent,
): Omit<Extract<CloudRunEvent, { type: 'planned' }>, 'type' | 'bytes'> | undefined {
  if (event.type !== 'TaskStateExited' || event.stateExitedEventDetails?.name !== 'Prepare') return undefined;
  const state = parseJson(event.stateExitedEventDetails.output) as
    | { run?: Record<string, unknown> }
    | undefined;
  const run = state?.run;
  if (!run || typeof run.runId !== 'string') return undefined;
  const lambdaChunks = Number(run.lambdaChunks ?? 0);
  const fargateChunks = Number(run.fargateChunks ?? 0);
  return {
    runId: run.runId,
    chunks: lambdaChunks + fargateChunks,
    lambdaChunks,
    fargateChunks,
    skippedSources: Number(run.skippedSources ?? 0),
  };
}

/**
 * The chunks one finished batch loaded: a Lambda batch returns `{ chunks: [{ id, status, counts }] }`;
 * a Fargate batch returns its input (`{ Items: [{ id, bytes }] }`), so its counts are unknown here.
 */
function chunksOf(output: string | undefined, runId: string): Extract<CloudRunEvent, { type: 'chunk' }>[] {
  const parsed = parseJson(output) as
    | {
        chunks?: { id: string; status: 'loaded' | 'already-loaded'; counts: ChunkCounts }[];
        Items?: { id: string; bytes?: number }[];
      }
    | undefined;
  if (parsed?.chunks) {
    return parsed.chunks.map((c) => ({
      type: 'chunk',
      runId,
      chunkId: c.id,
      status: c.status,
      counts: c.counts,
      bytes: 0,
      countsKnown: true,
    }));
  }
  return (parsed?.Items ?? []).map((item) => ({
    type: 'chunk',
    runId,
    chunkId: item.id,
    status: 'loaded',
    counts: { read: 0, staged: 0, rejected: 0, filtered: 0 },
    bytes: item.bytes ?? 0,
    countsKnown: false,
  }));
}

function resultOf(execution: DescribeExecutionCommandOutput, status: TerminalStatus): CloudRunResult {
  const executionArn = execution.executionArn ?? '';
  if (status === 'SUCCEEDED') {
    const summary = parseJson(execution.output) as RunSummary | undefined;
    return summary ? { executionArn, status, summary } : { executionArn, status };
  }
  return {
    executionArn,
    status,
    ...(execution.error ? { error: execution.error } : {}),
    ...(execution.cause ? { cause: execution.cause } : {}),
  };
}

export interface CloudRunListItem {
  executionArn: string;
  name: string;
  status: ExecutionStatus;
  startDate?: Date;
  stopDate?: Date;
  /** How many times the run was redriven. */
  redriveCount: number;
  runId?: string;
  /** read, loaded, rejected, filtered of a succeeded run (from its summary). */
  counts?: Pick<RunSummary, 'read' | 'loaded' | 'rejected' | 'filtered'>;
  error?: string;
  cause?: string;
}

/** The latest runs of a state machine, newest first, with the counts of those that succeeded. */
export async function listCloudRuns(options: {
  sfn: SFNClient;
  stateMachineArn: string;
  /** @default 20 */
  limit?: number;
  statusFilter?: ExecutionStatus;
}): Promise<CloudRunListItem[]> {
  const limit = options.limit ?? 20;
  const executions: Omit<CloudRunListItem, 'runId' | 'counts' | 'error' | 'cause'>[] = [];
  let nextToken: string | undefined;
  do {
    const page = await options.sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: options.stateMachineArn,
        maxResults: Math.min(limit - executions.length, 100),
        nextToken,
        ...(options.statusFilter ? { statusFilter: options.statusFilter } : {}),
      }),
    );
    for (const e of page.executions ?? []) {
      if (!e.executionArn || !e.name || !e.status) continue;
      executions.push({
        executionArn: e.executionArn,
        name: e.name,
        status: e.status,
        ...(e.startDate ? { startDate: e.startDate } : {}),
        ...(e.stopDate ? { stopDate: e.stopDate } : {}),
        redriveCount: e.redriveCount ?? 0,
      });
    }
    nextToken = page.nextToken;
  } while (nextToken && executions.length < limit);

  const items: CloudRunListItem[] = [];
  // One at a time: DescribeExecution shares a small token bucket with the rest of the account.
  for (const e of executions.slice(0, limit)) {
    if (e.status === 'RUNNING') {
      items.push(e);
      continue;
    }
    const described = await options.sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
    const result = resultOf(described, e.status as TerminalStatus);
    items.push({
      ...e,
      ...(result.summary
        ? {
            runId: result.summary.runId,
            counts: {
              read: result.summary.read,
              loaded: result.summary.loaded,
              rejected: result.summary.rejected,
              filtered: result.summary.filtered,
            },
          }
        : {}),
      ...(result.error ? { error: result.error } : {}),
      ...(result.cause ? { cause: result.cause } : {}),
    });
  }
  return items;
}

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
