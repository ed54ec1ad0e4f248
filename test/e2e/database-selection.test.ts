// One database selection for every command: --database-url, DATABASE_URL, SLUICE_DATABASE_SECRET, then the embedded PGlite; each says which it read.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvSecretStore } from '../../functions/adapters/secrets/env.js';
import { beginRun, ensureInternalSchema, failRun } from '../../functions/engine/load/index.js';
import type { RunRecord } from '../../functions/engine/read-side/index.js';
import { openSelectedDatabase, selectDatabase } from '../../functions/local/database.js';
import { type TestWarehouse, warehouseTargets } from '../integration/warehouse/targets.js';
import { type CliResult, runCli } from '../support/cli.js';
import { exampleSpec } from '../support/pipelines.js';

const pgTarget = warehouseTargets.find((t) => t.name === 'pg');
if (!pgTarget)
  console.warn('[database-selection] SKIPPING: the selection is checked against the PostgreSQL server');

describe('selectDatabase', () => {
  it('takes --database-url, then DATABASE_URL, then SLUICE_DATABASE_SECRET, then the embedded PGlite', () => {
    const env = { DATABASE_URL: 'postgres://b/b', SLUICE_DATABASE_SECRET: 'warehouse' };
    expect(selectDatabase({ databaseUrl: 'postgres://a/a', home: '/h' }, env)).toEqual({
      source: '--database-url',
      databaseUrl: 'postgres://a/a',
    });
    expect(selectDatabase({ home: '/h' }, env)).toEqual({
      source: 'DATABASE_URL',
      databaseUrl: 'postgres://b/b',
    });
    expect(selectDatabase({ home: '/h' }, { SLUICE_DATABASE_SECRET: 'warehouse' })).toEqual({
      source: 'SLUICE_DATABASE_SECRET',
      secretName: 'warehouse',
    });
    expect(selectDatabase({ home: '/h' }, { DATABASE_URL: '', SLUICE_DATABASE_SECRET: '' })).toEqual({
      source: 'embedded',
      pgliteDir: '/h/pglite',
    });
  });
});

/**
 * Three databases, each with a run of its own: every command is pointed at one of them by one source of
 * selection (with the lower-ranked sources set to the others, to prove the order), and must name that
 * database on stderr and read that database's data.
 */
describe.skipIf(!pgTarget)('every command selects the database the same way', () => {
  const dbs: Record<'flag' | 'env' | 'secret', TestWarehouse> = {} as never;
  const seeded: Record<string, string> = {};
  const password = `pw-${randomUUID()}`;
  const home = mkdtempSync(join(tmpdir(), 'sluice-dbsel-'));
  const { specFile } = exampleSpec();

  /** The environment and flags that select `which`, with every lower-ranked source pointing elsewhere. */
  function select(which: 'flag' | 'env' | 'secret'): { env: NodeJS.ProcessEnv; flags: string[] } {
    const url = new URL(dbs.secret.url!);
    const env: NodeJS.ProcessEnv = {
      DATABASE_URL: '',
      SLUICE_DATABASE_SECRET: 'warehouse',
      SLUICE_SECRET_WAREHOUSE: JSON.stringify({
        host: url.hostname,
        port: Number(url.port || 5432),
        username: decodeURIComponent(url.username),
        password,
        dbname: url.pathname.slice(1),
      }),
    };
    if (which === 'secret') return { env, flags: [] };
    env.DATABASE_URL = dbs.env.url!;
    if (which === 'env') return { env, flags: [] };
    return { env, flags: ['--database-url', dbs.flag.url!] };
  }
  const expectedLine = (which: 'flag' | 'env' | 'secret') =>
    `database: ${dbs[which].wh.description} (${
      which === 'flag'
        ? '--database-url'
        : which === 'env'
          ? 'DATABASE_URL'
          : 'SLUICE_DATABASE_SECRET warehouse'
    })`;
  const cli = (which: 'flag' | 'env' | 'secret', args: string[]): Promise<CliResult> => {
    const { env, flags } = select(which);
    return runCli([...args, ...flags, '--home', home], env);
  };

  beforeAll(async () => {
    for (const which of ['flag', 'env', 'secret'] as const) {
      dbs[which] = await pgTarget!.open();
      await ensureInternalSchema(dbs[which].wh);
      const runId = randomUUID();
      await beginRun(dbs[which].wh, {
        runId,
        pipeline: `seeded-${which}`,
        specVersion: 1,
        specHash: 'seed',
        trigger: {},
        fullRefresh: false,
        holder: 'test',
        leaseSeconds: 60,
      });
      await failRun(dbs[which].wh, runId, `seeded in the ${which} database`);
      seeded[which] = runId;
    }
  }, 60_000);
  afterAll(async () => {
    for (const db of Object.values(dbs)) await db?.dispose();
  });

  for (const which of ['flag', 'env', 'secret'] as const) {
    describe(`selected by ${which}`, () => {
      it('run loads into it and says so', async () => {
        const result = await cli(which, ['run', specFile, '--json']);
        expect(result.code).toBe(0);
        expect(result.stderr.split('\n')[0]).toBe(expectedLine(which));
        const { runId } = JSON.parse(result.stdout) as { runId: string };
        const { rows } = await dbs[which].wh.query<{ status: string }>(
          'SELECT status FROM sluice.runs WHERE run_id = $1',
          [runId],
        );
        expect(rows).toEqual([{ status: 'succeeded' }]);
      });

      it('runs reads its ledger (the seeded run is there, no other database’s)', async () => {
        const result = await cli(which, ['runs', '--json']);
        expect(result.code).toBe(0);
        expect(result.stderr).toBe(`${expectedLine(which)}\n`);
        const runs = JSON.parse(result.stdout) as RunRecord[];
        expect(runs.map((r) => r.runId)).toContain(seeded[which]);
        for (const other of Object.keys(seeded).filter((k) => k !== which))
          expect(runs.map((r) => r.runId)).not.toContain(seeded[other]);
      });

      it('redrive finds the run in it', async () => {
        const result = await cli(which, ['redrive', seeded[which]!]);
        expect(result.stderr.split('\n')[0]).toBe(expectedLine(which));
        expect(result.stderr).toContain(
          `run ${seeded[which]} failed before its plan was written (seeded in the ${which} database)`,
        );
        expect(result.code).toBe(1);
      });

      it('audit verify checks its audit trail', async () => {
        const result = await cli(which, ['audit', 'verify', '--json']);
        expect(result.stderr).toBe(`${expectedLine(which)}\n`);
        const { rows } = await dbs[which].wh.query<{ n: string }>(
          'SELECT count(*) AS n FROM sluice.audit_log',
        );
        expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, records: Number(rows[0]!.n) });
      });

      it('state show and rejects read it too', async () => {
        const state = await cli(which, ['state', 'show', 'orders', '--json']);
        expect(state.stderr).toBe(`${expectedLine(which)}\n`);
        expect((JSON.parse(state.stdout) as { bookmarks: unknown[] }).bookmarks).toHaveLength(6);
        const rejects = await cli(which, ['rejects', seeded[which]!, '--json']);
        expect(rejects.stderr).toBe(`${expectedLine(which)}\n`);
        expect(JSON.parse(rejects.stdout)).toMatchObject({ runId: seeded[which], total: 0 });
      });
    });
  }

  it('runs chunks routed to Fargate in process when the secret chose the database (a child could not read it)', async () => {
    const fargate = exampleSpec([
      ['compute: auto', 'compute: fargate'],
      ['targetBytes: 32KiB', 'targetBytes: 128KiB'],
      ['table: orders', 'table: orders_fargate'],
      ['name: orders', 'name: orders-fargate'],
    ]);
    const result = await cli('secret', ['run', fargate.specFile, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as { read: number }).read).toBe(4806);
    const { rows } = await dbs.secret.wh.query<{ route: string }>(
      `SELECT DISTINCT c.route FROM sluice.run_chunks c JOIN sluice.runs r USING (run_id) WHERE r.pipeline = 'orders-fargate'`,
    );
    expect(rows).toEqual([{ route: 'fargate' }]);
  });

  it('never prints the password of the secret', async () => {
    const result = await cli('secret', ['runs']);
    expect(result.stdout + result.stderr).not.toContain(password);
  });

  it('reads a SLUICE_DATABASE_SECRET that is a Secrets Manager ARN from Secrets Manager', async () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sluice/warehouse-AbCdEf';
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand, { SecretId: arn }).resolves({
      SecretString: select('secret').env.SLUICE_SECRET_WAREHOUSE!,
    });
    try {
      const selection = selectDatabase({ home }, { SLUICE_DATABASE_SECRET: arn });
      // The local store has no such secret: only Secrets Manager can answer.
      const wh = await openSelectedDatabase(selection, { secrets: new EnvSecretStore({ env: {} }), max: 1 });
      try {
        const { rows } = await wh.query<{ run_id: string }>(
          'SELECT run_id FROM sluice.runs WHERE pipeline = $1',
          ['seeded-secret'],
        );
        expect(rows).toEqual([{ run_id: seeded.secret }]);
      } finally {
        await wh.close();
      }
      expect(sm.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: arn });
    } finally {
      sm.restore();
    }
  });

  it('falls back to the embedded PGlite under --home when nothing is set, and says so', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'sluice-dbsel-embedded-'));
    const result = await runCli(['runs', '--home', empty], { DATABASE_URL: '', SLUICE_DATABASE_SECRET: '' });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      `database: pglite://${join(empty, 'pglite')} (embedded PGlite under --home)\n`,
    );
    expect(result.stdout).toBe('no runs yet\n');
  });
});
