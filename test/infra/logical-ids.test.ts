import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type LogicalIds, logicalIdsOf } from './support/logical-ids.js';
import { examplePipelines, FIXTURES, fixturePipelines, synthSluice } from './support/synth.js';

/**
 * Construct ids are API: a resource whose logical id changes is replaced on the next deploy (a new
 * state machine, role, queue or log group; the old one deleted or orphaned). The fixture is every
 * stack's logical ids and types as synthesized before the constructs were split; a refactoring must
 * keep it. Regenerate it (SLUICE_WRITE_LOGICAL_IDS=1) only for a change that means to replace resources,
 * and say so in the commit.
 */
const FIXTURE = join(FIXTURES, 'logical-ids.json');

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
    const actual = await synthEveryStage();
    if (process.env.SLUICE_WRITE_LOGICAL_IDS === '1')
      writeFileSync(FIXTURE, `${JSON.stringify(actual, null, 2)}\n`);
    const expected = JSON.parse(readFileSync(FIXTURE, 'utf8')) as LogicalIds;
    expect(Object.keys(actual)).toEqual(Object.keys(expected));
    for (const stack of Object.keys(expected)) expect(actual[stack], stack).toEqual(expected[stack]);
  }, 300_000);
});
