import { describe, expect, it } from 'vitest';
import { type LogicalIds, logicalIdsOf } from './support/logical-ids.js';
import { examplePipelines, fixturePipelines, synthSluice } from './support/synth.js';

/**
 * Construct ids are API: a resource whose logical id changes is replaced on the next deploy (a new
 * state machine, role, queue or log group; the old one deleted or orphaned). The fixture is every
 * stack's logical ids and types as synthesized before the pipeline construct was split; a refactoring
 * must keep it. Update it (`npx vitest run test/infra/logical-ids.test.ts -u`) only for a change that
 * means to add, remove or replace resources, and say which in the commit.
 */
async function synthEveryStage(): Promise<LogicalIds> {
  const specs = [...(await examplePipelines()), ...(await fixturePipelines('payments', 'manual'))];
  const ids: LogicalIds = {};
  for (const stage of ['dev', 'prod']) {
    Object.assign(ids, logicalIdsOf(synthSluice({ stage, specs, githubRepository: 'acme/sluice' })));
  }
  return ids;
}

describe('logical ids', () => {
  it('are those of test/infra/fixtures/logical-ids.json, with the same resource types', async () => {
    const ids = await synthEveryStage();

    await expect(`${JSON.stringify(ids, null, 2)}\n`).toMatchFileSnapshot('./fixtures/logical-ids.json');
  }, 300_000);
});
