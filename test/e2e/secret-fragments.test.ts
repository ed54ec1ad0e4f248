import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasswordCheckingProxy } from '../integration/secrets/password-proxy.js';
import { type TestWarehouse, warehouseTargets } from '../integration/warehouse/targets.js';
import { type CliResult, runCli } from '../support/cli.js';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'secrets', 'secret-people.yaml');
const pgTarget = warehouseTargets.find((t) => t.name === 'pg');
if (!pgTarget) console.warn('[secret-fragments] SKIPPING: the scan needs the PostgreSQL server');

/**
 * A secret no output can contain by chance: every 4 characters hold an upper-case letter, a lower-case
 * letter and a digit in a fixed rhythm (uuids and hashes are lower-case hex, words have no digits).
 */
function distinctive(): string {
  const upper = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
  const lower = 'abcdefghjkmnpqrstuvwxyz';
  const digit = '23456789';
  const pick = (set: string) => set[randomInt(set.length)]!;
  return `Qz${Array.from({ length: 9 }, () => pick(upper) + pick(lower) + pick(digit)).join('')}`;
}

/** Every file under dir, with its path relative to dir. */
function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path, `${prefix}${name}/`) : [`${prefix}${name}`];
  });
}

/**
 * Whole runs through the CLI (one that succeeds with a rejected row, one that the reject ratio fails,
 * one whose database secret is not JSON), each with distinctive secrets: the database password, the
 * HMAC key, the API token, the text of a broken secret, and the clear values of the hashed column.
 * Then every output is scanned for any piece of 4 characters or more of any of them: stdout, stderr,
 * every file under the home folder (the log, the staging manifests, staged files and rejects), and
 * every row of Sluice's tables (run ledger, chunk ledger, audit trail) and of the target, as text.
 */
describe.skipIf(!pgTarget)('secret fragments in every output', () => {
  let db: TestWarehouse;
  let proxy: PasswordCheckingProxy;
  let api: Server;
  let home: string;
  const role = `sluice_scan_${randomBytes(4).toString('hex')}`;
  const secrets = {
    'database password': distinctive(),
    'HMAC key': distinctive(),
    'API token': distinctive(),
    'broken database secret': distinctive(),
  };
  const ssns = [distinctive(), distinctive(), distinctive(), distinctive()];
  const people = ssns.map((ssn, i) => ({
    id: i + 1,
    day: `2026-01-0${i + 1}`,
    ssn,
    // The third row is rejected by the cast: its reject shows the row as read.
    visits: i === 2 ? 'many' : String(i * 10),
  }));
  const runs: Record<string, CliResult> = {};

  const spec = (maxRejectRatio: number) => {
    const file = join(mkdtempSync(join(tmpdir(), 'sluice-scan-spec-')), 'secret-people.yaml');
    const base = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
    writeFileSync(
      file,
      readFileSync(FIXTURE, 'utf8')
        .replaceAll('__BASE_URL__', base)
        .replaceAll('__MAX_REJECT_RATIO__', String(maxRejectRatio)),
    );
    return file;
  };
  const env = (databaseSecret: string) => ({
    DATABASE_URL: '',
    SLUICE_DATABASE_SECRET: 'warehouse',
    SLUICE_SECRET_WAREHOUSE: databaseSecret,
    SLUICE_SECRET_PEOPLE_API_TOKEN: secrets['API token'],
    SLUICE_SECRET_PEOPLE_HMAC_KEY: secrets['HMAC key'],
  });

  beforeAll(async () => {
    db = await pgTarget!.open();
    const server = new URL(db.url!);
    const dbname = server.pathname.slice(1);
    proxy = await PasswordCheckingProxy.start(secrets['database password'], {
      host: server.hostname,
      port: Number(server.port || 5432),
    });
    await db.wh.query(`CREATE ROLE ${role} LOGIN CREATEROLE PASSWORD '${secrets['database password']}'`);
    await db.wh.query(`ALTER DATABASE ${dbname} OWNER TO ${role}`);
    api = createServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${secrets['API token']}`) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: people }));
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    home = mkdtempSync(join(tmpdir(), 'sluice-scan-home-'));
    const databaseSecret = JSON.stringify({
      host: '127.0.0.1',
      port: proxy.port,
      username: role,
      password: secrets['database password'],
      dbname,
    });

    runs.succeeded = await runCli(['run', spec(0.5), '--home', home], env(databaseSecret));
    runs['failed (reject ratio)'] = await runCli(['run', spec(0), '--home', home], env(databaseSecret));
    runs['failed (broken secret)'] = await runCli(
      ['run', spec(0.5), '--home', home],
      env(secrets['broken database secret']),
    );
  }, 180_000);
  afterAll(async () => {
    await new Promise((resolve) => api?.close(resolve));
    await proxy?.close();
    await db?.dispose();
    const admin = await pgTarget!.open();
    await admin.wh.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await admin.dispose();
  });

  it('runs: one succeeds with a hashed reject, one fails on the reject ratio, one on the broken secret', async () => {
    expect(runs.succeeded!.code, runs.succeeded!.stderr).toBe(0);
    expect(runs['failed (reject ratio)']!.code).toBe(1);
    expect(runs['failed (broken secret)']!.code).toBe(1);
    expect(runs['failed (broken secret)']!.stderr).toContain(
      'secret "warehouse" is not JSON: expected a database secret',
    );
    const { rows } = await db.wh.query<{ ssn: string }>('SELECT ssn FROM secretscan.people ORDER BY id');
    const hmac = (text: string) => createHmac('sha256', secrets['HMAC key']).update(text).digest('hex');
    expect(rows.map((r) => r.ssn)).toEqual([ssns[0]!, ssns[1]!, ssns[3]!].map(hmac));
    const rejects = walk(join(home, 'staging'))
      .filter((f) => f.endsWith('.jsonl') && f.includes('/rejects/'))
      .flatMap((f) =>
        readFileSync(join(home, 'staging', f), 'utf8')
          .split('\n')
          .filter(Boolean),
      )
      .map((line) => JSON.parse(line) as { row: { ssn: string } });
    expect(rejects.length).toBe(2);
    for (const r of rejects) expect(r.row.ssn).toBe(hmac(ssns[2]!));
  });

  it('leaves no piece of 4 characters of any secret in any output', async () => {
    const outputs: Record<string, string> = {};
    for (const [name, run] of Object.entries(runs)) {
      outputs[`stdout of the ${name} run`] = run.stdout;
      outputs[`stderr of the ${name} run`] = run.stderr;
    }
    for (const file of walk(home))
      outputs[`file ${file}`] = `${file}\n${readFileSync(join(home, file), 'utf8')}`;
    const { rows: tables } = await db.wh.query<{ name: string }>(
      `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
        WHERE table_schema IN ('sluice', 'sluice_staging', 'secretscan') ORDER BY 1`,
    );
    for (const { name } of tables) {
      const { rows } = await db.wh.query<{ r: string }>(`SELECT row_to_json(t)::text AS r FROM ${name} t`);
      outputs[`table ${name}`] = rows.map((r) => r.r).join('\n');
    }
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['file logs/sluice.log', 'table sluice.audit_log', 'table sluice.runs']),
    );
    expect(outputs['table sluice.runs']!.split('\n')).toHaveLength(2);

    const found: string[] = [];
    const all: Record<string, string> = { ...secrets };
    ssns.forEach((ssn, i) => {
      all[`clear value of the hashed column (row ${i + 1})`] = ssn;
    });
    for (const [where, text] of Object.entries(outputs)) {
      for (const [what, secret] of Object.entries(all)) {
        const pieces = Array.from({ length: secret.length - 3 }, (_, i) => secret.slice(i, i + 4));
        const seen = pieces.filter((piece) => text.includes(piece));
        if (seen.length > 0)
          found.push(`${where}: ${seen.length} piece(s) of the ${what}, e.g. "${seen[0]}"`);
      }
    }
    expect(found).toEqual([]);
  });
});
