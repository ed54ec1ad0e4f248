import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgWarehouse } from '../../../functions/adapters/warehouse/pg.js';
import { runPipelineLocally } from '../../../functions/local/runner.js';
import {
  createScratchPg,
  openPgWarehouse,
  postgresAvailable,
  type ScratchPg,
  specFromFixture,
} from './databases.js';

describe.skipIf(!postgresAvailable)(
  'schema evolution with a postgres source whose table gains columns',
  () => {
    let db: ScratchPg;
    let wh: PgWarehouse;
    const home = mkdtempSync(join(tmpdir(), 'sluice-home-'));
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const run = (policy: string) =>
      runPipelineLocally({
        specFile: specFromFixture('pg-items.yaml', { SOURCE_DB: db.database, POLICY: policy }),
        home,
        warehouse: wh,
        logger,
      });
    const rows = async (sql: string) => (await db.client.query(sql)).rows;

    beforeAll(async () => {
      db = await createScratchPg('sluice_evo');
      await db.client.query(`
      CREATE TABLE items (id bigint PRIMARY KEY, day date NOT NULL, name text);
      INSERT INTO items SELECT g, date '2026-01-01' + g, 'item ' || g FROM generate_series(1, 10) g;`);
      wh = openPgWarehouse(db.url);
      for (const policy of ['evolve', 'freeze', 'discard'])
        expect((await run(policy)).summary?.loaded).toBe(10);
      await db.client.query(`
      ALTER TABLE items ADD COLUMN price numeric(10,2), ADD COLUMN tags jsonb;
      INSERT INTO items SELECT g, date '2026-01-01' + g, 'item ' || g, g * 1.5, '["new"]' FROM generate_series(11, 15) g;`);
    });
    afterAll(async () => {
      await wh?.close();
      await db?.dispose();
    });

    it('evolve: adds the new columns as nullable columns through a recorded migration and loads them', async () => {
      const result = await run('evolve');

      expect(result.error).toBeUndefined();
      expect(result.summary?.loaded).toBe(5);
      expect(result.summary?.schemaEvolution).toEqual({
        policy: 'evolve',
        added: ['price', 'tags'],
        discarded: [],
      });
      expect(
        await rows(
          `SELECT id, price::text, tags::text FROM analytics.items_evolve WHERE id IN (10, 11) ORDER BY id`,
        ),
      ).toEqual([
        { id: '10', price: null, tags: null },
        { id: '11', price: '16.50', tags: '["new"]' },
      ]);
      const columns = await rows(`SELECT column_name, is_nullable FROM information_schema.columns
      WHERE table_schema = 'analytics' AND table_name = 'items_evolve' AND column_name IN ('price', 'tags') ORDER BY 1`);
      expect(columns).toEqual([
        { column_name: 'price', is_nullable: 'YES' },
        { column_name: 'tags', is_nullable: 'YES' },
      ]);
      const recorded = await rows(`SELECT definition->'evolved' AS evolved FROM sluice.table_versions
      WHERE table_name = 'items_evolve' AND definition ? 'evolved'`);
      expect(recorded).toEqual([
        {
          evolved: {
            added: [
              { name: 'price', type: 'numeric(10,2)', nullable: true },
              { name: 'tags', type: 'jsonb', nullable: true },
            ],
          },
        },
      ]);
    });

    it('evolve: a later run keeps loading the added columns without migrating again', async () => {
      await db.client.query(`INSERT INTO items VALUES (16, '2026-01-17', 'item 16', 9.99, '[]')`);

      const result = await run('evolve');

      expect(result.summary?.loaded).toBe(1);
      expect(result.summary?.schemaEvolution).toBeUndefined();
      expect(await rows(`SELECT price::text FROM analytics.items_evolve WHERE id = 16`)).toEqual([
        { price: '9.99' },
      ]);
    });

    it('freeze: fails the run naming the new columns, and moves no cursor', async () => {
      const before = await rows(`SELECT state FROM sluice.cursors WHERE pipeline = 'pg-items-freeze'`);

      const result = await run('freeze');

      expect(result.status).toBe('failed');
      expect(result.error).toContain(
        'schemaEvolution is freeze and source postgres has 2 column(s) that analytics.items_freeze does not: price (numeric(10,2)), tags (jsonb)',
      );
      expect(await rows(`SELECT state FROM sluice.cursors WHERE pipeline = 'pg-items-freeze'`)).toEqual(
        before,
      );
      expect(await rows(`SELECT count(*)::int AS n FROM analytics.items_freeze`)).toEqual([{ n: 10 }]);
    });

    it('discard: loads the rows without the new columns and counts them in the summary', async () => {
      const result = await run('discard');

      expect(result.error).toBeUndefined();
      expect(result.summary?.loaded).toBe(6);
      expect(result.summary?.schemaEvolution).toEqual({
        policy: 'discard',
        added: [],
        discarded: ['price', 'tags'],
      });
      const columns = await rows(`SELECT column_name FROM information_schema.columns
      WHERE table_schema = 'analytics' AND table_name = 'items_discard' ORDER BY ordinal_position`);
      expect(columns.map((c) => c.column_name)).toEqual(['id', 'day', 'name']);
    });
  },
);
