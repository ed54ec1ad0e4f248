import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecretsKey, LocalSecretStore } from '../../../functions/adapters/secrets/local-file.js';
import { createFaultInjector } from '../../../functions/local/faults.js';
import { type LocalRunResult, runPipelineLocally } from '../../../functions/local/runner.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';
import { PasswordCheckingProxy } from './password-proxy.js';

const SPEC = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'orders-hashed.yaml');
const pgTarget = warehouseTargets.find((t) => t.name === 'pg');
if (!pgTarget) console.warn('[secrets] SKIPPING: password rotation needs the PostgreSQL server');

/** Every file under dir, relative. */
function walk(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path, `${prefix}${name}/`) : [`${prefix}${name}`];
  });
}

/**
 * The run reads the database password and the HMAC key by NAME from the local encrypted secrets file.
 * Mid-run, the password is rotated (server and secret together) and every open connection is killed;
 * the run re-reads the secret once and succeeds. Then nothing the run left behind holds a secret value.
 */
describe.skipIf(!pgTarget)('credentials on pg', () => {
  let db: TestWarehouse;
  let home: string;
  let store: LocalSecretStore;
  const role = `sluice_rot_${randomBytes(4).toString('hex')}`;
  const passwordA = `pwA-${randomBytes(12).toString('hex')}`;
  const passwordB = `pwB-${randomBytes(12).toString('hex')}`;
  const hmacKey = `hmac-${randomBytes(16).toString('hex')}`;
  const payloads: string[] = [];
  const errors: string[] = [];
  let rotated: LocalRunResult;
  let proxy: PasswordCheckingProxy;

  const databaseSecret = (password: string) =>
    JSON.stringify({
      host: '127.0.0.1',
      port: proxy.port,
      username: role,
      password,
      dbname: new URL(db.url!).pathname.slice(1),
    });

  beforeAll(async () => {
    db = await pgTarget!.open();
    const server = new URL(db.url!);
    proxy = await PasswordCheckingProxy.start(passwordA, {
      host: server.hostname,
      port: Number(server.port || 5432),
    });
    const dbname = new URL(db.url!).pathname.slice(1);
    await db.wh.query(`CREATE ROLE ${role} LOGIN CREATEROLE PASSWORD '${passwordA}'`);
    await db.wh.query(`ALTER DATABASE ${dbname} OWNER TO ${role}`);
    home = mkdtempSync(join(tmpdir(), 'sluice-secrets-'));
    const key = generateSecretsKey();
    writeFileSync(join(home, 'secrets.key'), key, { mode: 0o600 });
    store = new LocalSecretStore({ file: join(home, 'secrets.enc'), key });
    await store.set('warehouse', databaseSecret(passwordA));
    await store.set('email-hmac-key', hmacKey);

    const faults = createFaultInjector([], {
      onHit: async (point, _context, nth) => {
        if (point !== 'before-chunk-load' || nth !== 2) return;
        // Rotate as Secrets Manager does: the server's password, then the secret; open sessions end.
        await db.wh.query(`ALTER ROLE ${role} PASSWORD '${passwordB}'`);
        proxy.password = passwordB;
        await store.set('warehouse', databaseSecret(passwordB));
        proxy.killConnections();
        await new Promise((r) => setTimeout(r, 300));
      },
    });
    rotated = await runPipelineLocally({
      specFile: SPEC,
      home,
      databaseSecret: 'warehouse',
      concurrency: 1,
      faults,
      onPayload: (_state, _direction, payload) => payloads.push(JSON.stringify(payload)),
    });
    if (rotated.error) errors.push(rotated.error);
  });
  afterAll(async () => {
    await proxy?.close();
    await db?.dispose();
    // Roles are cluster-wide: drop it, or it outlives the test database.
    const admin = await pgTarget!.open();
    await admin.wh.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await admin.dispose();
  });

  it('survives the password being rotated in the middle of the run', async () => {
    expect(rotated.error).toBeUndefined();
    expect(rotated.status).toBe('succeeded');
    expect(rotated.summary?.loaded).toBeGreaterThan(4000);
    const log = readFileSync(join(home, 'logs', 'sluice.log'), 'utf8');
    expect(log).toContain('database password rejected; re-read the secret once');
    expect(proxy.rejected).toBeGreaterThan(0);
    const rows = await db.wh.query<{ n: number; hashed: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE customer_email ~ '^[0-9a-f]{64}$')::int AS hashed
         FROM analytics.secret_orders`,
    );
    expect(rows.rows[0]!.n).toBe(rotated.summary?.loaded);
    expect(rows.rows[0]!.hashed).toBeGreaterThan(0);
  });

  it('audits every credential read by name', async () => {
    const { rows } = await db.wh.query<{ detail: string }>(
      `SELECT detail FROM sluice.audit_log WHERE kind = 'credentials.read'`,
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.detail))).toEqual(new Set(['{"secret":"email-hmac-key"}']));
  });

  it('fails with an error that names the secret, never a value, when the password is wrong', async () => {
    await store.set('warehouse', databaseSecret('wrong-password-C'));

    const failed = await runPipelineLocally({ specFile: SPEC, home, databaseSecret: 'warehouse' }).catch(
      (err: Error) => ({ status: 'failed', error: `${err.name}: ${err.message}` }) as LocalRunResult,
    );

    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/password authentication failed for user "sluice_rot_/);
    errors.push(failed.error ?? '');
    await store.set('warehouse', databaseSecret(passwordB));
  });

  it('leaves no secret value in any log line, state payload, staging file, ledger row or error', async () => {
    const places: Record<string, string> = {
      log: readFileSync(join(home, 'logs', 'sluice.log'), 'utf8'),
      payloads: payloads.join('\n'),
      errors: errors.join('\n'),
      'staging file names': walk(join(home, 'staging')).join('\n'),
      'staging files': walk(join(home, 'staging'))
        .map((f) => readFileSync(join(home, 'staging', f), 'utf8'))
        .join('\n'),
      ledger: JSON.stringify((await db.wh.query('SELECT * FROM sluice.runs')).rows),
      audit: JSON.stringify((await db.wh.query('SELECT * FROM sluice.audit_log')).rows),
    };
    expect(payloads.length).toBeGreaterThan(5);
    expect(places.log!.split('\n').length).toBeGreaterThan(10);
    for (const [where, text] of Object.entries(places)) {
      for (const secret of [passwordA, passwordB, 'wrong-password-C', hmacKey]) {
        expect(text.includes(secret), `${where} contains a secret value`).toBe(false);
      }
    }
  });
});
