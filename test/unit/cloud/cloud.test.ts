import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListMapRunsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type CloudRunEvent,
  followExecution,
  listCloudRuns,
  resolveStateMachineArn,
  startCloudRun,
} from '../../../bin/cli/cloud.js';

const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:sluice-prod-orders';
const EXEC = 'arn:aws:states:eu-west-1:123456789012:execution:sluice-prod-orders:cli-1';
const MAP_RUN = 'arn:aws:states:eu-west-1:123456789012:mapRun:sluice-prod-orders/LambdaChunks:abc';
const child = (n: number) =>
  `arn:aws:states:eu-west-1:123456789012:execution:sluice-prod-orders/LambdaChunks:child-${n}`;

const summary = {
  runId: 'run-1',
  pipeline: 'orders',
  status: 'succeeded',
  read: 10,
  loaded: 8,
  rejected: 1,
  filtered: 1,
  filteredByRule: 1,
  deduplicated: 0,
  chunks: 2,
  skippedSources: 0,
  partitions: ['2026-01'],
  topRejectReasons: [],
  startedAt: '2026-01-01T00:00:00Z',
};

const sfn = mockClient(SFNClient);
beforeEach(() => sfn.reset());
const client = () => new SFNClient({ region: 'eu-west-1' });

describe('resolveStateMachineArn', () => {
  it('finds sluice-<stage>-<pipeline> across pages of state machines', async () => {
    sfn
      .on(ListStateMachinesCommand)
      .resolvesOnce({
        stateMachines: [
          { name: 'other', stateMachineArn: 'arn:x', type: 'STANDARD', creationDate: new Date() },
        ],
        nextToken: 't',
      })
      .resolvesOnce({
        stateMachines: [
          { name: 'sluice-prod-orders', stateMachineArn: SM, type: 'STANDARD', creationDate: new Date() },
        ],
      });
    await expect(resolveStateMachineArn({ sfn: client(), stage: 'prod', pipeline: 'orders' })).resolves.toBe(
      SM,
    );
  });

  it('fails naming what is deployed in the stage and how to deploy', async () => {
    sfn.on(ListStateMachinesCommand).resolves({
      stateMachines: [
        {
          name: 'sluice-prod-payments',
          stateMachineArn: 'arn:p',
          type: 'STANDARD',
          creationDate: new Date(),
        },
      ],
    });
    await expect(
      resolveStateMachineArn({ sfn: client(), stage: 'prod', pipeline: 'orders' }),
    ).rejects.toThrow(
      /no state machine sluice-prod-orders .*pipelines deployed in prod: payments.*npx cdk deploy --all -c stage=prod/,
    );
  });
});

describe('startCloudRun', () => {
  it('starts an execution with a manual trigger and the run options, and reports it', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXEC, startDate: new Date() });
    const events: CloudRunEvent[] = [];
    const out = await startCloudRun({
      sfn: client(),
      stateMachineArn: SM,
      pipeline: 'orders',
      input: { fullRefresh: true },
      onProgress: (e) => events.push(e),
    });
    expect(out.executionArn).toBe(EXEC);
    const call = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(call.stateMachineArn).toBe(SM);
    expect(call.name).toMatch(/^cli-\d{14}-[0-9a-f]{8}$/);
    expect(JSON.parse(call.input!)).toEqual({
      trigger: { type: 'manual', by: 'sluice-cli' },
      fullRefresh: true,
    });
    expect(events).toEqual([{ type: 'started', executionArn: EXEC, executionName: call.name }]);
  });
});

describe('followExecution', () => {
  const prepareExited = {
    id: 5,
    timestamp: new Date(),
    type: 'TaskStateExited' as const,
    stateExitedEventDetails: {
      name: 'Prepare',
      output: JSON.stringify({
        run: { runId: 'run-1', lambdaChunks: 2, fargateChunks: 0, skippedSources: 1, manifests: {}, map: {} },
      }),
    },
  };

  it('reports the plan, then each chunk as its batch finishes, and returns the Commit summary', async () => {
    sfn
      .on(DescribeExecutionCommand, { executionArn: EXEC })
      .resolvesOnce({ executionArn: EXEC, status: 'RUNNING', stateMachineArn: SM, startDate: new Date() })
      .resolvesOnce({ executionArn: EXEC, status: 'RUNNING', stateMachineArn: SM, startDate: new Date() })
      .resolves({
        executionArn: EXEC,
        status: 'SUCCEEDED',
        output: JSON.stringify(summary),
        stateMachineArn: SM,
        startDate: new Date(),
      });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [prepareExited] });
    sfn.on(ListMapRunsCommand).resolves({
      mapRuns: [{ mapRunArn: MAP_RUN, executionArn: EXEC, stateMachineArn: SM, startDate: new Date() }],
    });
    sfn
      .on(ListExecutionsCommand)
      .resolvesOnce({
        executions: [
          {
            executionArn: child(1),
            name: 'c1',
            status: 'SUCCEEDED',
            stateMachineArn: SM,
            startDate: new Date(),
          },
        ],
      })
      .resolves({
        executions: [
          {
            executionArn: child(1),
            name: 'c1',
            status: 'SUCCEEDED',
            stateMachineArn: SM,
            startDate: new Date(),
          },
          {
            executionArn: child(2),
            name: 'c2',
            status: 'SUCCEEDED',
            stateMachineArn: SM,
            startDate: new Date(),
          },
        ],
      });
    const counts = (read: number) => ({ read, staged: read - 1, rejected: 1, filtered: 0 });
    sfn.on(DescribeExecutionCommand, { executionArn: child(1) }).resolves({
      executionArn: child(1),
      status: 'SUCCEEDED',
      output: JSON.stringify({ chunks: [{ id: 'c-0', status: 'loaded', counts: counts(6) }] }),
      stateMachineArn: SM,
      startDate: new Date(),
    });
    sfn.on(DescribeExecutionCommand, { executionArn: child(2) }).resolves({
      executionArn: child(2),
      status: 'SUCCEEDED',
      output: JSON.stringify({ chunks: [{ id: 'c-1', status: 'already-loaded', counts: counts(4) }] }),
      stateMachineArn: SM,
      startDate: new Date(),
    });

    const events: CloudRunEvent[] = [];
    const pauses: number[] = [];
    const result = await followExecution({
      sfn: client(),
      executionArn: EXEC,
      onProgress: (e) => events.push(e),
      sleep: async (ms) => {
        pauses.push(ms);
      },
    });

    expect(result).toEqual({ executionArn: EXEC, status: 'SUCCEEDED', summary });
    expect(
      events.map((e) => (e.type === 'chunk' ? `${e.chunkId}:${e.status}:${e.counts.read}` : e.type)),
    ).toEqual(['planned', 'c-0:loaded:6', 'c-1:already-loaded:4']);
    expect(events[0]).toEqual({
      type: 'planned',
      runId: 'run-1',
      chunks: 2,
      lambdaChunks: 2,
      fargateChunks: 0,
      skippedSources: 1,
      bytes: 0,
    });
    expect(pauses).toEqual([2000, 2000]);
  });

  it('backs off while nothing changes, up to the maximum pause', async () => {
    const running = {
      executionArn: EXEC,
      status: 'RUNNING' as const,
      stateMachineArn: SM,
      startDate: new Date(),
    };
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce(running)
      .resolvesOnce(running)
      .resolvesOnce(running)
      .resolvesOnce(running)
      .resolves({ ...running, status: 'FAILED', error: 'RunFailed', cause: 'quality check failed' });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    const pauses: number[] = [];
    const result = await followExecution({
      sfn: client(),
      executionArn: EXEC,
      onProgress: () => {},
      pollIntervalMs: 1000,
      maxPollIntervalMs: 2000,
      sleep: async (ms) => {
        pauses.push(ms);
      },
    });
    expect(pauses).toEqual([1500, 2000, 2000, 2000]);
    expect(result).toEqual({
      executionArn: EXEC,
      status: 'FAILED',
      error: 'RunFailed',
      cause: 'quality check failed',
    });
  });

  it('reports Fargate chunks with their ids, their counts left to the summary', async () => {
    sfn
      .on(DescribeExecutionCommand, { executionArn: EXEC })
      .resolvesOnce({ executionArn: EXEC, status: 'RUNNING', stateMachineArn: SM, startDate: new Date() })
      .resolves({
        executionArn: EXEC,
        status: 'SUCCEEDED',
        output: JSON.stringify(summary),
        stateMachineArn: SM,
        startDate: new Date(),
      });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [prepareExited] });
    sfn.on(ListMapRunsCommand).resolves({
      mapRuns: [{ mapRunArn: MAP_RUN, executionArn: EXEC, stateMachineArn: SM, startDate: new Date() }],
    });
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: child(9),
          name: 'c9',
          status: 'SUCCEEDED',
          stateMachineArn: SM,
          startDate: new Date(),
        },
      ],
    });
    sfn.on(DescribeExecutionCommand, { executionArn: child(9) }).resolves({
      executionArn: child(9),
      status: 'SUCCEEDED',
      output: JSON.stringify({
        Items: [{ id: 'big-0', bytes: 900_000_000 }],
        BatchInput: { runId: 'run-1' },
      }),
      stateMachineArn: SM,
      startDate: new Date(),
    });
    const events: CloudRunEvent[] = [];
    await followExecution({
      sfn: client(),
      executionArn: EXEC,
      onProgress: (e) => events.push(e),
      sleep: async () => {},
    });
    expect(events[1]).toMatchObject({
      type: 'chunk',
      chunkId: 'big-0',
      bytes: 900_000_000,
      countsKnown: false,
    });
  });
});

describe('listCloudRuns', () => {
  it('lists the newest runs with the counts of those that succeeded and the error of those that did not', async () => {
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: `${EXEC}-3`,
          name: 'r3',
          status: 'RUNNING',
          stateMachineArn: SM,
          startDate: new Date('2026-01-03'),
        },
        {
          executionArn: `${EXEC}-2`,
          name: 'r2',
          status: 'FAILED',
          stateMachineArn: SM,
          startDate: new Date('2026-01-02'),
          redriveCount: 1,
        },
        {
          executionArn: `${EXEC}-1`,
          name: 'r1',
          status: 'SUCCEEDED',
          stateMachineArn: SM,
          startDate: new Date('2026-01-01'),
        },
      ],
    });
    sfn.on(DescribeExecutionCommand, { executionArn: `${EXEC}-2` }).resolves({
      executionArn: `${EXEC}-2`,
      status: 'FAILED',
      error: 'RunFailed',
      cause: 'boom',
      stateMachineArn: SM,
      startDate: new Date(),
    });
    sfn.on(DescribeExecutionCommand, { executionArn: `${EXEC}-1` }).resolves({
      executionArn: `${EXEC}-1`,
      status: 'SUCCEEDED',
      output: JSON.stringify(summary),
      stateMachineArn: SM,
      startDate: new Date(),
    });
    const runs = await listCloudRuns({ sfn: client(), stateMachineArn: SM, limit: 3 });
    expect(runs.map((r) => [r.name, r.status, r.counts?.loaded, r.error, r.redriveCount])).toEqual([
      ['r3', 'RUNNING', undefined, undefined, 0],
      ['r2', 'FAILED', undefined, 'RunFailed', 1],
      ['r1', 'SUCCEEDED', 8, undefined, 0],
    ]);
    expect(runs[2]?.counts).toEqual({ read: 10, loaded: 8, rejected: 1, filtered: 1 });
    expect(sfn.commandCalls(ListExecutionsCommand)[0]!.args[0].input).toMatchObject({
      stateMachineArn: SM,
      maxResults: 3,
    });
    expect(sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(2);
  });

  it('stops paging at the limit', async () => {
    const page = (n: number) => ({
      executions: Array.from({ length: 2 }, (_, i) => ({
        executionArn: `${EXEC}-${n}${i}`,
        name: `r${n}${i}`,
        status: 'RUNNING' as const,
        stateMachineArn: SM,
        startDate: new Date(),
      })),
      nextToken: 'more',
    });
    sfn.on(ListExecutionsCommand).resolvesOnce(page(1)).resolvesOnce(page(2)).resolves(page(3));
    const runs = await listCloudRuns({ sfn: client(), stateMachineArn: SM, limit: 3 });
    expect(runs).toHaveLength(3);
    expect(sfn.commandCalls(ListExecutionsCommand)).toHaveLength(2);
  });
});
