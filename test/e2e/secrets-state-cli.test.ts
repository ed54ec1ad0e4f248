// `sluice secrets set|list|rm` over the local encrypted store, `sluice state show|reset` over real runs, and no message naming a command that does not exist.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginRun, failRun } from '../../functions/engine/load/index.js';
import { type TestWarehouse, warehouseTargets } from '../integration/warehouse/targets.js';
import { runCli, runCliWithInput } from '../support/cli.js';
import { exampleSpec } from '../support/pipelines.js';

const pgTarget = warehouseTargets.find((t) => t.name === 'pg');
if (!pgTarget)
  console.warn('[secrets-state-cli] SKIPPING: state and the database secret need the PostgreSQL server');
/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`), typing `answer` once `prompt` is on screen,
 * as a person at a terminal would: what the prompts do there (confirmation, no echo) is what this sees.
 */
function runInTerminal(
  args: string[],
  env: NodeJS.ProcessEnv,
  prompt: string,
  answer: string,
): Promise<{ code: number | null; output: string }> {
  const command = ['node', 'bin/sluice.mjs', ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    env: { ...process.env, CI: 'true', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let typed = false;
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
    if (!typed && output.includes(prompt)) {
      typed = true;
      // Typed only once the prompt is up, so the terminal is in the mode the prompt set.
      setTimeout(() => child.stdin.write(answer), 200);
    }
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

/** No key from the environment: the store's key is <home>/secrets.key. */
const NO_KEY = {
  SLUICE_SECRETS_KEY: '',
  SLUICE_SECRETS_KEY_FILE: '',
  DATABASE_URL: '',
  SLUICE_DATABASE_SECRET: '',
};

describe('sluice secrets', () => {
  const home = mkdtempSync(join(tmpdir(), 'sluice-secrets-'));
  const value = `Vq7-${randomUUID()}`;

  it('sets a secret from stdin, creating the key (0600) outside the encrypted file, never echoing the value', async () => {
    const set = await runCliWithInput(['secrets', 'set', 'api-token', '--home', home], `${value}\n`, NO_KEY);
    expect(set.code).toBe(0);
    expect(set.stdout).toBe(
      `secret "api-token" stored in ${join(home, 'secrets.enc')} (${value.length} characters)\n`,
    );
    expect(set.stderr).toContain(`created the key of the local secret store: ${join(home, 'secrets.key')}`);
    expect(set.stdout + set.stderr).not.toContain(value);
    expect(statSync(join(home, 'secrets.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(home, 'secrets.enc'), 'utf8')).not.toContain(value);
  });

  it('reads the value at a hidden prompt on a terminal, and never echoes it', async () => {
    const typed = `Tt9-${randomUUID()}`;
    const result = await runInTerminal(
      ['secrets', 'set', 'typed', '--home', home],
      NO_KEY,
      'value of secret "typed": ',
      `${typed}\r`,
    );
    expect(result.code).toBe(0);
    expect(result.output).toContain('secret "typed" stored in');
    expect(result.output).not.toContain(typed);
    const listed = await runCli(['secrets', 'list', '--home', home], NO_KEY);
    expect(listed.stdout.split('\n')).toContain('typed');
    await runCli(['secrets', 'rm', 'typed', '--home', home], NO_KEY);
  });

  it('lists names only, as text and JSON', async () => {
    await runCliWithInput(['secrets', 'set', 'db', '--home', home], 'other', NO_KEY);
    const text = await runCli(['secrets', 'list', '--home', home], NO_KEY);
    expect(text).toMatchObject({ code: 0, stdout: 'api-token\ndb\n' });
    const json = await runCli(['secrets', 'list', '--json', '--home', home], NO_KEY);
    expect(JSON.parse(json.stdout)).toEqual(['api-token', 'db']);
    expect(text.stdout + json.stdout).not.toContain(value);
  });

  it('removes a secret, and fails (exit 2) for one that does not exist', async () => {
    expect(await runCli(['secrets', 'rm', 'db', '--home', home], NO_KEY)).toMatchObject({
      code: 0,
      stdout: 'secret "db" removed\n',
    });
    const again = await runCli(['secrets', 'rm', 'db', '--home', home], NO_KEY);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(
      `sluice: no secret "db" in ${join(home, 'secrets.enc')} (see: sluice secrets list)`,
    );
  });

  it('fails (exit 2) on an empty value, and takes no value on the command line', async () => {
    const empty = await runCliWithInput(['secrets', 'set', 'x', '--home', home], '', NO_KEY);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('no value given for secret "x"');
    const extra = await runCli(['secrets', 'set', 'x', 'the-value', '--home', home], NO_KEY);
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('too many arguments');
  });

  it('fails loudly when the store exists but its key is gone', async () => {
    const other = mkdtempSync(join(tmpdir(), 'sluice-secrets-nokey-'));
    await runCliWithInput(['secrets', 'set', 'a', '--home', other], 'v', NO_KEY);
    const { rmSync } = await import('node:fs');
    rmSync(join(other, 'secrets.key'));
    const list = await runCli(['secrets', 'list', '--home', other], NO_KEY);
    expect(list.code).toBe(1);
    expect(list.stderr).toContain(`${join(other, 'secrets.enc')} exists but its key does not`);
  });
});

describe('messages name only commands that exist', () => {
  it('every `sluice <command>` in the product code is a command of `sluice --help`', async () => {
    const help = await runCli(['--help']);
    const commands = new Set([...help.stdout.matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]!));
    const files = ['functions', 'bin'].flatMap((dir) =>
      readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => join(dir, f)),
    );
    const unknown = files.flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/\bsluice ([a-z][a-z-]+)/g)]
        .map((m) => m[1]!)
        .filter((c) => !commands.has(c))
        .map((c) => `${file}: sluice ${c}`),
    );
    expect(commands).toContain('secrets');
    expect(unknown).toEqual([]);
  });
});

describe.skipIf(!pgTarget)('sluice state', () => {
  let db: TestWarehouse;
  const { specFile, dir } = exampleSpec();
  const home = join(dir, '.sluice');
  let env: NodeJS.ProcessEnv;
  const cli = (args: string[]) => runCli([...args, '--home', home], env);

  beforeAll(async () => {
    db = await pgTarget!.open();
    // The database is named by a secret in the local encrypted store, as `sluice secrets set` writes it.
    const url = new URL(db.url!);
    const secret = JSON.stringify({
      host: url.hostname,
      port: Number(url.port || 5432),
      username: decodeURIComponent(url.username),
      password: 'unused-with-trust-auth',
      dbname: url.pathname.slice(1),
    });
    const set = await runCliWithInput(['secrets', 'set', 'warehouse', '--home', home], secret, NO_KEY);
    expect(set.code).toBe(0);
    env = { ...NO_KEY, SLUICE_DATABASE_SECRET: 'warehouse' };
    const run = await cli(['run', specFile]);
    expect(run.code).toBe(0);
    expect(run.stderr.split('\n')[0]).toBe(
      `database: ${db.wh.description} (SLUICE_DATABASE_SECRET warehouse)`,
    );
  }, 120_000);
  afterAll(() => db?.dispose());

  it('shows the bookmarks of the files the run loaded, the lock and the cursor', async () => {
    const text = await cli(['state', 'show', 'orders']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^pipeline {3}orders\nlock {7}free\ncursor {5}none\nbookmarks {2}6 file\(s\) loaded:\n/,
    );
    expect(text.stdout).toMatch(/ {2}orders-2026-01\.csv +[0-9a-f]{32} +\d+ +[0-9a-f-]{36} /);
    const json = JSON.parse((await cli(['state', 'show', 'orders', '--json'])).stdout) as {
      bookmarks: { key: string }[];
    };
    expect(json.bookmarks.map((b) => b.key)).toEqual([
      'orders-2026-01.csv',
      'orders-2026-02.csv',
      'orders-2026-03.csv',
      'orders-2026-04.csv',
      'orders-2026-05.csv',
      'orders-2026-06.csv.gz',
    ]);
  });

  it('fails (exit 2, nothing changed) to reset without confirmation when not on a terminal', async () => {
    const result = await cli(['state', 'reset', 'orders']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'sluice: state reset orders asks for confirmation: run it in a terminal, or pass --yes',
    );
    const { rows } = await db.wh.query<{ n: string }>('SELECT count(*) AS n FROM sluice.file_bookmarks');
    expect(Number(rows[0]!.n)).toBe(6);
  });

  it('asks on a terminal: no keeps the state (exit 2), and the question says what would go', async () => {
    const result = await runInTerminal(['state', 'reset', 'orders', '--home', home], env, '[y/N] ', 'n\r');
    expect(result.output).toContain(
      'forget 6 file bookmark(s) of pipeline "orders"? its next run loads everything again [y/N]',
    );
    expect(result.output).toContain('nothing changed');
    expect(result.code).toBe(2);
    const { rows } = await db.wh.query<{ n: string }>('SELECT count(*) AS n FROM sluice.file_bookmarks');
    expect(Number(rows[0]!.n)).toBe(6);
  });

  it('refuses to reset while a run holds the lock, naming the run', async () => {
    const runId = randomUUID();
    await beginRun(db.wh, {
      runId,
      pipeline: 'orders',
      specVersion: 1,
      specHash: 'h',
      trigger: {},
      fullRefresh: false,
      holder: 'someone-else',
      leaseSeconds: 600,
    });
    try {
      const result = await cli(['state', 'reset', 'orders', '--yes']);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `sluice: pipeline "orders" is locked by run ${runId} (holder someone-else)`,
      );
      const { rows } = await db.wh.query<{ n: string }>('SELECT count(*) AS n FROM sluice.file_bookmarks');
      expect(Number(rows[0]!.n)).toBe(6);
    } finally {
      await failRun(db.wh, runId, 'test over');
    }
  });

  it('resets with --yes: the bookmarks go, the reset is in the audit trail, and the next plan loads every file', async () => {
    const result = await cli(['state', 'reset', 'orders', '--yes', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ pipeline: 'orders', bookmarks: 6, cursor: false });
    const audit = await db.wh.query<{ detail: string; actor: string }>(
      "SELECT detail, actor FROM sluice.audit_log WHERE kind = 'state.reset' AND pipeline = 'orders'",
    );
    expect(audit.rows).toEqual([{ detail: '{"bookmarks":6,"cursor":false}', actor: expect.any(String) }]);
    const plan = JSON.parse((await cli(['plan', specFile, '--json'])).stdout) as {
      chunks: unknown[];
      skippedSources: number;
    };
    expect(plan.chunks).toHaveLength(16);
    expect(plan.skippedSources).toBe(0);
    expect((await cli(['audit', 'verify'])).code).toBe(0);
  });
});
