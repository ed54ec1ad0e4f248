import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FolderStorage } from '../../../functions/adapters/storage/folder.js';
import {
  chunkBatchFromStaging,
  chunkTaskIdsFromEnv,
} from '../../../functions/engine/run/chunk-from-staging.js';
import { stagingLayout } from '../../../functions/engine/run/layout.js';
import { writeRunSpec } from '../../../functions/engine/run/run-spec.js';
import { parseSpec } from '../../../functions/engine/spec/load.js';

/** The Fargate worker gets ids; its chunk comes from the run's manifest, or the task fails saying why. */
const dir = mkdtempSync(join(tmpdir(), 'sluice-chunk-ids-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const runId = '00000000-0000-4000-8000-00000000000f';
const staging = new FolderStorage(dir);
const chunk = {
  id: 'chunk-00003',
  seq: 3,
  bytes: 9e8,
  route: 'fargate',
  source: { key: 'a.csv', header: 'x,y' },
};

describe('chunk from staging', () => {
  it('finds the chunk the ids name in the Fargate manifest of the run', async () => {
    const { spec } = parseSpec(readFileSync('pipelines/orders.yaml', 'utf8'), 'orders.yaml');
    await writeRunSpec(staging, runId, { spec, specHash: 'h', specLocation: 'orders.yaml', baseDir: dir });
    await staging.write(stagingLayout.fargateItems(runId), JSON.stringify([chunk]));

    const ids = chunkTaskIdsFromEnv({
      SLUICE_PIPELINE: 'orders',
      SLUICE_RUN_ID: runId,
      SLUICE_CHUNK_ID: chunk.id,
    });

    expect(await chunkBatchFromStaging(staging, ids)).toEqual({ Items: [chunk], BatchInput: { runId } });
  });

  it('fails when an id is missing or malformed, naming the variable', () => {
    expect(() => chunkTaskIdsFromEnv({ SLUICE_PIPELINE: 'orders', SLUICE_RUN_ID: 'nope' })).toThrow(
      /SLUICE_RUN_ID Invalid UUID.*SLUICE_CHUNK_ID is not set/,
    );
  });

  it('fails when the chunk is not planned, or the run is another pipeline’s', async () => {
    await expect(
      chunkBatchFromStaging(staging, { pipeline: 'orders', runId, chunkId: 'chunk-00004' }),
    ).rejects.toThrow(
      `chunk chunk-00004 is not in runs/${runId}/items-fargate.json (1 Fargate chunks planned`,
    );
    await expect(
      chunkBatchFromStaging(staging, { pipeline: 'payments', runId, chunkId: chunk.id }),
    ).rejects.toThrow(`run ${runId} belongs to pipeline "orders", not "payments"`);
  });
});
