import { createReadStream, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWarehouse } from '../../../functions/adapters/warehouse/index.js';
import { describePgTarget, openPgWarehouse } from '../../../functions/adapters/warehouse/pg.js';
import { WarehouseUnavailableError } from '../../../functions/engine/ports/warehouse.js';
import { type TestWarehouse, warehouseTargets } from './targets.js';

const TRICKY_CSV = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tricky.csv');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(warehouseTargets)('warehouse adapter on $name', (target) => {
  let db: TestWarehouse;
  beforeAll(async () => {
    db = await target.open();
  });
  afterAll(() => db?.dispose());

  it('runs queries with params and returns the same JavaScript values as the other twin', async () => {
    const { rows, rowCount } = await db.wh.query(
      `SELECT $1::int8 AS small, 9007199254740993::int8 AS big, 1.50::numeric(5,2) AS num,
              '2024-02-29'::date AS day, '2024-02-29 10:11:12'::timestamp AS ts,
              '2024-02-29 10:11:12+00'::timestamptz AS tstz, '{"a":[1]}'::jsonb AS doc, $2::text AS txt`,
      [42, 'x'],
    );
    expect(rowCount).toBe(1);
    expect(rows[0]).toEqual({
      small: 42,
      big: '9007199254740993',
      num: '1.50',
      day: '2024-02-29',
      ts: '2024-02-29 10:11:12',
      tstz: new Date('2024-02-29T10:11:12Z'),
      doc: { a: [1] },
      txt: 'x',
    });
  });

  it('runs several statements without params and returns the last result', async () => {
    const res = await db.wh.query(
      'CREATE TABLE multi (a int); INSERT INTO multi VALUES (1), (2); SELECT count(*) AS n FROM multi',
    );
    expect(res.rows).toEqual([{ n: 2 }]);
  });

  it('commits a transaction that resolves and returns its value', async () => {
    await db.wh.query('CREATE TABLE committed (a int)');
    const value = await db.wh.transaction(async (tx) => {
      const res = await tx.query('INSERT INTO committed VALUES (1), (2)');
      return res.rowCount;
    });
    expect(value).toBe(2);
    expect((await db.wh.query('SELECT count(*)::int AS n FROM committed')).rows).toEqual([{ n: 2 }]);
  });

  it('rolls a transaction back when its callback throws', async () => {
    await db.wh.query('CREATE TABLE rolled (a int)');
    await expect(
      db.wh.transaction(async (tx) => {
        await tx.query('INSERT INTO rolled VALUES (1)');
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect((await db.wh.query('SELECT count(*)::int AS n FROM rolled')).rows).toEqual([{ n: 0 }]);
  });

  it('rolls back when a statement fails and stays usable', async () => {
    await db.wh.query('CREATE TABLE failing (a int PRIMARY KEY)');
    await expect(
      db.wh.transaction(async (tx) => {
        await tx.query('INSERT INTO failing VALUES (1)');
        await tx.query('INSERT INTO failing VALUES (1)');
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect((await db.wh.query('SELECT count(*)::int AS n FROM failing')).rows).toEqual([{ n: 0 }]);
  });

  it('refuses a tx used after its transaction finished', async () => {
    let leaked: Parameters<Parameters<typeof db.wh.transaction>[0]>[0] | undefined;
    await db.wh.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked!.query('SELECT 1')).rejects.toThrow(/transaction already finished/);
  });

  describe('copyCsv', () => {
    const expected = [
      { t: 'plain', n: 1, isNull: false },
      { t: 'comma, inside', n: 2, isNull: false },
      { t: 'line\nbreak', n: 3, isNull: false },
      { t: 'say "hi"', n: 4, isNull: false },
      { t: null, n: 5, isNull: true },
      { t: '', n: 6, isNull: false },
    ];

    it('copies a Buffer: quotes, embedded newlines, NULL (empty) versus "" (empty string)', async () => {
      await db.wh.query('CREATE SCHEMA copy_buf; CREATE TABLE copy_buf.t (t text, n int)');
      const copied = await db.wh.transaction((tx) =>
        tx.copyCsv('copy_buf.t', ['t', 'n'], readFileSync(TRICKY_CSV)),
      );
      expect(copied).toBe(6);
      const { rows } = await db.wh.query('SELECT t, n, t IS NULL AS "isNull" FROM copy_buf.t ORDER BY n');
      expect(rows).toEqual(expected);
    });

    it('copies a stream', async () => {
      await db.wh.query('CREATE TABLE copy_stream (t text, n int)');
      const copied = await db.wh.transaction((tx) =>
        tx.copyCsv('copy_stream', ['t', 'n'], createReadStream(TRICKY_CSV)),
      );
      expect(copied).toBe(6);
      expect((await db.wh.query('SELECT t FROM copy_stream WHERE n = 3')).rows).toEqual([
        { t: 'line\nbreak' },
      ]);
    });

    it('fails when a value does not fit, and the transaction rolls back', async () => {
      await db.wh.query('CREATE TABLE copy_bad (t text, n int)');
      await expect(
        db.wh.transaction(async (tx) => {
          await tx.query(`INSERT INTO copy_bad VALUES ('before', 0)`);
          await tx.copyCsv('copy_bad', ['t', 'n'], Buffer.from('ok,1\nbad,notanumber\n'));
        }),
      ).rejects.toThrow(/invalid input syntax for type integer/);
      expect((await db.wh.query('SELECT count(*)::int AS n FROM copy_bad')).rows).toEqual([{ n: 0 }]);
      expect((await db.wh.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    });

    it('fails when the body stream errors midway, copying nothing', async () => {
      await db.wh.query('CREATE TABLE copy_broken (t text, n int)');
      async function* brokenBody() {
        yield Buffer.from('a,1\nb,2\n');
        await sleep(5);
        throw new Error('staged file vanished');
      }
      await expect(
        db.wh.transaction((tx) => tx.copyCsv('copy_broken', ['t', 'n'], Readable.from(brokenBody()))),
      ).rejects.toThrow(/staged file vanished/);
      expect((await db.wh.query('SELECT count(*)::int AS n FROM copy_broken')).rows).toEqual([{ n: 0 }]);
      expect((await db.wh.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    });
  });

  it('never shows a reader half of a concurrent transaction', async () => {
    await db.wh.query('CREATE TABLE halves (a int)');
    const [, seen] = await Promise.all([
      db.wh.transaction(async (tx) => {
        await tx.query('INSERT INTO halves VALUES (1)');
        await sleep(50);
        await tx.query('INSERT INTO halves VALUES (2)');
      }),
      sleep(10).then(() => db.wh.query<{ n: number }>('SELECT count(*)::int AS n FROM halves')),
    ]);
    expect([0, 2]).toContain(seen.rows[0]!.n);
  });

  it.runIf(target.name === 'pglite')(
    'runs concurrent transactions one at a time (one connection)',
    async () => {
      await db.wh.query('CREATE TABLE counter (v int); INSERT INTO counter VALUES (0)');
      // Read-modify-write with a pause between: interleaved transactions would lose updates.
      await Promise.all(
        Array.from({ length: 8 }, () =>
          db.wh.transaction(async (tx) => {
            const { rows } = await tx.query<{ v: number }>('SELECT v FROM counter');
            await sleep(2);
            await tx.query('UPDATE counter SET v = $1', [rows[0]!.v + 1]);
          }),
        ),
      );
      expect((await db.wh.query('SELECT v FROM counter')).rows).toEqual([{ v: 8 }]);
    },
  );

  it.runIf(target.name === 'pglite')(
    'fails fast, rather than deadlocking, on wh.query inside its own transaction',
    async () => {
      await expect(db.wh.transaction(() => db.wh.query('SELECT 1'))).rejects.toThrow(/use the tx argument/i);
    },
  );
});

describe('pg adapter connection handling', () => {
  it('describes its target without the password', () => {
    expect(describePgTarget({ connectionString: 'postgres://loader:s3cret@db.example:6543/sales' })).toBe(
      'postgres://loader@db.example:6543/sales',
    );
    expect(
      describePgTarget({ host: '10.0.0.5', user: 'loader', password: 's3cret', database: 'sales' }),
    ).toBe('postgres://loader@10.0.0.5:5432/sales');
  });

  it('fails when the server is unreachable, with WarehouseUnavailableError naming host, port and database only', async () => {
    const err = await openPgWarehouse({
      connectionString: 'postgres://loader:hunter2@127.0.0.1:1/sales',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WarehouseUnavailableError);
    const message = (err as Error).message;
    expect(message).toContain('postgres://loader@127.0.0.1:1/sales');
    expect(message).not.toContain('hunter2');
  });

  it('fails openWarehouse on a bad URL without echoing it', async () => {
    await expect(openWarehouse({ databaseUrl: 'mysql://u:hunter2@h/db' })).rejects.toThrow(
      /^databaseUrl must start with postgres:\/\//,
    );
  });
});

describe('openWarehouse with PGlite', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-pglite-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('creates the data folder and keeps data across reopening', async () => {
    const dataDir = join(dir, 'nested', 'db');
    const first = await openWarehouse({ pgliteDir: dataDir });
    expect(first.kind).toBe('pglite');
    await first.query('CREATE TABLE kept (a int); INSERT INTO kept VALUES (7)');
    await first.close();
    expect((await stat(dataDir)).isDirectory()).toBe(true);

    const second = await openWarehouse({ pgliteDir: dataDir });
    try {
      expect((await second.query('SELECT a FROM kept')).rows).toEqual([{ a: 7 }]);
    } finally {
      await second.close();
    }
  });
});
