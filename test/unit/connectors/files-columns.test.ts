import { describe, expect, it } from 'vitest';
import { FolderStorage } from '../../../functions/adapters/storage/folder.js';
import { getSourceConnector } from '../../../functions/connectors/registry.js';
import { checkSourceContract } from '../../../functions/sdk/contract.js';
import type { PlanContext, SourceConnector } from '../../../functions/sdk/source.js';

const files = getSourceConnector('files') as SourceConnector<Record<string, unknown>>;
const FIXTURES = 'test/fixtures/contract/files';

function planContext(config: Record<string, unknown>): PlanContext<Record<string, unknown>> {
  const parsed = files.configSchema.parse(config);
  return {
    config: parsed,
    openStorage: (location) => new FolderStorage(`${process.cwd()}/${FIXTURES}/${location}`),
    credential: (async () => '') as PlanContext<unknown>['credential'],
    targetBytes: 1 << 20,
    parallelism: 1,
    alreadyLoaded: () => false,
  };
}

describe('files source columns', () => {
  it('keeps the connector contract, columns included, for CSV and JSON Lines', async () => {
    for (const config of [
      { location: 'agree', format: 'csv' },
      { location: 'jsonl', format: 'jsonl' },
    ]) {
      const findings = await checkSourceContract({
        connector: files,
        config,
        baseDir: `${process.cwd()}/${FIXTURES}`,
        identity: (row) => String(row.id),
        expectedRows: 3,
      });

      expect(findings).toEqual([]);
    }
  });

  it('reports the header every planned CSV file shares, in the first file’s order', async () => {
    const plan = await files.plan(planContext({ location: 'agree', format: 'csv' }));

    expect(plan.columns?.map((c) => c.name)).toEqual(['id', 'day', 'amount']);
  });

  it('fails when a CSV file of the run has other columns, naming the file and the columns', async () => {
    await expect(files.plan(planContext({ location: 'differ', format: 'csv' }))).rejects.toThrow(
      /^source files: .*differ\/b\.csv: its columns differ from a\.csv's: it has "coupon" that a\.csv has not\. Files of one run must have the same columns/,
    );
  });

  it('reports the keys of a JSON Lines sample in first-seen order, typed where the values agree', async () => {
    const plan = await files.plan(planContext({ location: 'jsonl', format: 'jsonl' }));

    expect(plan.columns).toEqual([
      { name: 'id', type: 'numeric', nullable: true },
      { name: 'day', type: 'text', nullable: true },
      { name: 'amount', type: 'numeric', nullable: true },
      { name: 'tags', type: 'jsonb', nullable: true },
      { name: 'paid', type: 'boolean', nullable: true },
    ]);
  });

  it('discovers the columns of the first file without planning the others', async () => {
    const streams = await files.discover!(planContext({ location: 'differ', format: 'csv' }));

    expect(streams.flatMap((s) => s.columns.map((c) => c.name))).toEqual(['id', 'day', 'amount']);
  });
});
