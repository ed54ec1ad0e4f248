import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSpecFile } from '../../../functions/engine/spec/load.js';
import type { HandlerEnv } from '../../../functions/handlers/env.js';
import { eventSinkFromEnv } from '../../../functions/handlers/events.js';
import { createLocalDeps } from '../../../functions/local/environment.js';
import { executeLocally } from '../../../functions/local/runner.js';
import { type EventPattern, matchesPattern } from '../../support/eventbridge-pattern.js';
import { exampleSpec } from '../../support/pipelines.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';

/**
 * RunSucceeded / RunFailed as real runs put them on EventBridge (the handlers' events adapter, its client
 * mocked), with the detail docs/deploy.md documents, and the event patterns that page shows matching
 * them by EventBridge's rules (test/support/eventbridge-pattern.ts), each its own kind only.
 */
const eventBridge = mockClient(EventBridgeClient);
afterAll(() => eventBridge.restore());

/** The fenced JSON blocks of a section of docs/deploy.md: the patterns a user copies. */
function documentedPatterns(): EventPattern[] {
  const doc = readFileSync('docs/deploy.md', 'utf8');
  const start = doc.indexOf('\n## Run events\n');
  const end = doc.indexOf('\n## ', start + 1);
  expect(start, 'docs/deploy.md has a "Run events" section').toBeGreaterThan(0);
  const section = doc.slice(start, end);
  return [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as EventPattern);
}

/** What EventBridge delivers to a rule for a PutEvents entry. */
function delivered(entry: { Source?: string; DetailType?: string; Detail?: string; EventBusName?: string }) {
  return {
    version: '0',
    id: '5bdc3a7d-0f06-4a4e-8c35-0f1d5e0d9c1e',
    'detail-type': entry.DetailType,
    source: entry.Source,
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'eu-west-1',
    resources: [],
    detail: JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>,
  };
}

describe.each(warehouseTargets)('run events on EventBridge, on $name', (target) => {
  let db: TestWarehouse;
  beforeAll(async () => {
    db = await target.open();
    eventBridge.reset();
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  });
  afterAll(async () => {
    await db.dispose();
  });

  async function run(edits: [string, string][], fullRefresh = false) {
    const { dir, specFile } = exampleSpec(edits);
    const home = join(dir, '.sluice');
    const env = await createLocalDeps({ home, warehouse: db.wh });
    // The adapter the Commit and Fail Lambdas use, sending to the stage's bus.
    const events = eventSinkFromEnv(
      { SLUICE_STAGING_BUCKET: 'sluice-test-staging', SLUICE_EVENT_BUS_NAME: 'sluice-test' } as HandlerEnv,
      env.deps.logger,
    );
    const { spec } = await loadSpecFile(specFile);
    try {
      return await executeLocally(
        spec,
        { specFile, home, fullRefresh },
        { ...env.deps, events },
        env.stagingDir,
      );
    } finally {
      await env.close();
    }
  }

  it('puts RunSucceeded and RunFailed with the documented detail, and the documented patterns tell them apart', async () => {
    const ok = await run([]);
    const failed = await run([['maxRejectRatio: 0.01', 'maxRejectRatio: 0.001']], true);
    expect(ok.status).toBe('succeeded');
    expect(failed.status).toBe('failed');

    const entries = eventBridge.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);
    expect(entries.map((e) => [e.Source, e.DetailType, e.EventBusName])).toEqual([
      ['sluice', 'RunSucceeded', 'sluice-test'],
      ['sluice', 'RunFailed', 'sluice-test'],
    ]);
    const [succeededEvent, failedEvent] = entries.map(delivered);
    expect(succeededEvent!.detail).toEqual({
      runId: ok.runId,
      pipeline: 'orders',
      read: ok.summary!.read,
      loaded: ok.summary!.loaded,
      rejected: 17,
      filtered: ok.summary!.filtered,
      partitions: expect.arrayContaining(['orders_p202601']),
    });
    expect(Object.keys(failedEvent!.detail).sort()).toEqual(['error', 'executionId', 'pipeline', 'runId']);
    expect(failedEvent!.detail).toMatchObject({
      pipeline: 'orders',
      runId: failed.runId,
      error: expect.stringContaining('QualityCheckError'),
    });

    const [failedRuns, runsWithRejects] = documentedPatterns();
    expect(failedRuns, 'the page documents two patterns').toBeDefined();
    expect(matchesPattern(failedRuns!, failedEvent!)).toBe(true);
    expect(matchesPattern(failedRuns!, succeededEvent!)).toBe(false);
    expect(matchesPattern(runsWithRejects!, succeededEvent!)).toBe(true);
    expect(matchesPattern(runsWithRejects!, failedEvent!)).toBe(false);
    // And the rule the CDK construct makes (pipeline.onRunFailed) is the first pattern.
    expect(failedRuns).toEqual({
      source: ['sluice'],
      'detail-type': ['RunFailed'],
      detail: { pipeline: ['orders'] },
    });
  }, 180_000);
});
