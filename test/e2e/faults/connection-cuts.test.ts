import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FaultPoint } from '../../../functions/engine/load/fault-points.js';
import type { EngineLogger } from '../../../functions/engine/run/deps.js';
import { createFaultInjector } from '../../../functions/local/faults.js';
import { redriveRunLocally } from '../../../functions/local/redrive.js';
import { type LocalRunResult, runPipelineLocally } from '../../../functions/local/runner.js';
import type { TestWarehouse } from '../../integration/warehouse/targets.js';
import { runCli } from '../../support/cli.js';
import { TcpProxy } from '../../support/tcp-proxy.js';
import {
  cleanRunState,
  crashTarget,
  FAULT_PIPELINE,
  FAULT_SPEC,
  freshHome,
  resetDatabase,
  type TargetState,
  targetState,
  waitFor,
} from './support.js';

// Under CI=true the crash target is always the real PostgreSQL (targets.ts fails when it is missing).
const onPg = crashTarget.name === 'pg';
if (!onPg)
  console.warn('[connection-cuts] SKIPPING: a TCP proxy needs a PostgreSQL server to stand in front of');

/** Short pauses, so a test waits milliseconds, not the production policy's seconds. */
const TEST_RETRY = { baseDelayMs: 50, maxDelayMs: 400, maxAttempts: 8, maxTotalMs: 5000 };

interface Logged {
  level: string;
  message: string;
  extra?: Record<string, unknown>;
}

function collectingLogger(into: Logged[]): EngineLogger {
  const at = (level: string) => (message: string, extra?: Record<string, unknown>) =>
    into.push({ level, message, ...(extra ? { extra } : {}) });
  return { debug: () => {}, info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * A TCP proxy between Sluice and the real PostgreSQL, cut at each step of a run. Each trial ends in a
 * completed run (the retry worked) or a clean failure (failed in the ledger, lock released); either way
 * the table then holds exactly what a clean run loads (rows, checksum, bookmarks, one succeeded run).
 */
describe.skipIf(!onPg)('a dropped PostgreSQL connection', () => {
  let clean: TargetState;
  let db: TestWarehouse;
  let proxy: TcpProxy;
  let proxyUrl: string;

  beforeAll(async () => {
    clean = await cleanRunState();
    db = await crashTarget.open();
    const target = new URL(db.url!);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    const url = new URL(db.url!);
    url.port = String(proxy.port);
    proxyUrl = url.toString();
  }, 60_000);
  beforeEach(async () => {
    proxy.refuseFor(0);
    await resetDatabase(db.wh);
  });
  afterAll(async () => {
    await proxy?.close();
    await db?.dispose();
  });

  /** Runs the fault spec through the proxy, doing `cut` at the nth hit of `point`. */
  async function runWithCut(
    point: FaultPoint | undefined,
    nth: number,
    cut: () => void,
    extra: { onPayload?: (state: string, direction: 'input' | 'output') => void } = {},
  ): Promise<{ result: LocalRunResult; log: Logged[]; home: string }> {
    const log: Logged[] = [];
    const home = freshHome('cut');
    const result = await runPipelineLocally({
      specFile: FAULT_SPEC,
      home,
      databaseUrl: proxyUrl,
      logger: collectingLogger(log),
      retry: TEST_RETRY,
      faults: createFaultInjector([], {
        onHit: (hit, _context, n) => {
          if (hit === point && n === nth) cut();
        },
      }),
      ...(extra.onPayload ? { onPayload: extra.onPayload } : {}),
    });
    return { result, log, home };
  }

  const retriedSteps = (log: Logged[]) =>
    log.filter((l) => l.message === 'transient error; retrying').map((l) => String(l.extra?.step));

  async function committedAuditRecords(runId: string): Promise<number> {
    const { rows } = await db.wh.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sluice.audit_log WHERE kind = 'run.committed' AND run_id = $1`,
      [runId],
    );
    return rows[0]!.n;
  }

  it('completes when the connection drops inside prepare (the retry worked)', async () => {
    proxy.cutAfterBytes(1500); // the startup and SELECT 1 are smaller; prepare's schema DDL is not

    const { result, log } = await runWithCut(undefined, 0, () => {});

    expect(result).toMatchObject({ status: 'succeeded' });
    expect(proxy.cut).toBeGreaterThan(0);
    expect(retriedSteps(log).join('\n')).toMatch(
      /create the internal schema|create the target table|start run/,
    );
    expect(await targetState(db.wh)).toEqual(clean);
  });

  it('completes when the connection drops in the middle of a chunk COPY', async () => {
    const { result, log } = await runWithCut('before-chunk-load', 2, () => proxy.cutAfterBytes(6000));

    expect(result).toMatchObject({ status: 'succeeded' });
    expect(retriedSteps(log).join('\n')).toMatch(/load chunk chunk-\d+ of run/);
    expect(await targetState(db.wh)).toEqual(clean);
  });

  it('completes when every connection drops between chunks', async () => {
    const { result } = await runWithCut('after-chunk-commit', 1, () => proxy.cutAll());

    expect(result).toMatchObject({ status: 'succeeded' });
    expect(proxy.cut).toBeGreaterThan(0);
    expect(await targetState(db.wh)).toEqual(clean);
  });

  it('completes when the connection drops inside the commit, before COMMIT', async () => {
    const { result, log } = await runWithCut('inside-run-commit', 1, () => proxy.cutAll());

    expect(result).toMatchObject({ status: 'succeeded' });
    expect(retriedSteps(log)).toContain(`commit run ${result.runId}`);
    expect(await targetState(db.wh)).toEqual(clean);
    expect(await committedAuditRecords(result.runId!)).toBe(1);
  });

  it('completes, merging once, when the answer to COMMIT is lost with the connection', async () => {
    const { result, log } = await runWithCut('inside-run-commit', 1, () => proxy.loseNextAnswer(300));

    expect(result).toMatchObject({ status: 'succeeded', summary: { read: expect.any(Number) } });
    expect(retriedSteps(log)).toContain(`commit run ${result.runId}`);
    // The replay found the run committed and returned its recorded result: one merge, one audit record.
    expect(await committedAuditRecords(result.runId!)).toBe(1);
    expect(await targetState(db.wh)).toEqual(clean);
    expect(result.summary!.loaded).toBe(clean.rows);
  });

  it('completes when every connection drops after the commit', async () => {
    const { result } = await runWithCut('after-run-commit', 1, () => proxy.cutAll());

    expect(result).toMatchObject({ status: 'succeeded' });
    expect(await targetState(db.wh)).toEqual(clean);
  });

  it('fails cleanly when the server stays away longer than the retries, and a redrive finishes the run', async () => {
    // Refuse from the first chunk until the run is being marked failed (a fresh connection does that).
    const { result, home } = await runWithCut(
      'before-chunk-load',
      1,
      () => {
        proxy.cutAll();
        proxy.refuseFor(3_600_000);
      },
      { onPayload: (state) => state === 'MarkFailed' && proxy.refuseFor(0) },
    );

    expect(result.status).toBe('failed');
    expect(result.error).toMatch(
      /^RetriesExhaustedError: load chunk chunk-\d+ of run [0-9a-f-]+ failed \d+ time\(s\) in \d+\.\d s because .*(connection|refused)/,
    );
    const ledger = await db.wh.query<{ status: string; locked: number }>(
      `SELECT r.status, (SELECT count(*)::int FROM sluice.pipeline_locks WHERE run_id IS NOT NULL) AS locked
         FROM sluice.runs r WHERE r.run_id = $1`,
      [result.runId],
    );
    expect(ledger.rows).toEqual([{ status: 'failed', locked: 0 }]);

    const redriven = await redriveRunLocally({ runId: result.runId!, home, databaseUrl: proxyUrl });

    expect(redriven).toMatchObject({ status: 'succeeded', runId: result.runId });
    expect(await targetState(db.wh, undefined, FAULT_PIPELINE)).toEqual(clean);
  });

  it('completes through the CLI when every connection drops under a running chunk: no crash, no stack', async () => {
    const home = freshHome('cut-cli');
    const release = join(home, 'release');
    const run = runCli(['run', FAULT_SPEC, '--home', home, '--database-url', proxyUrl, '--json'], {
      SLUICE_FAULT: 'after-copy-before-commit:delay',
      SLUICE_FAULT_DELAY_MS: '30000',
      SLUICE_FAULT_RELEASE_FILE: release,
    });
    // The first chunk holds its load transaction open (rows copied, COMMIT not sent) when the network drops.
    await waitFor(async () => {
      const { rows } = await db.wh.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND state = 'idle in transaction'`,
      );
      return rows[0]!.n > 0 ? true : undefined;
    });
    proxy.cutAll();
    writeFileSync(release, '');
    const done = await run;

    expect(done.stderr).not.toMatch(/Unhandled 'error' event|^\s+at /m);
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ status: 'succeeded', loaded: clean.rows });
    expect(await targetState(db.wh)).toEqual(clean);
  }, 60_000);
});
