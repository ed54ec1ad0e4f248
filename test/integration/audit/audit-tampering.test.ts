import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerAuditCommand } from '../../../bin/cli/audit.js';
import { anchorAuditHead, auditDatabaseId } from '../../../functions/engine/audit/anchor.js';
import {
  appendAudit,
  auditRecordHash,
  readAuditLog,
  verifyAuditChain,
} from '../../../functions/engine/audit/log.js';
import { ensureInternalSchema } from '../../../functions/engine/load/migrations.js';
import { localAuditAnchor } from '../../../functions/local/environment.js';
import { runPipelineLocally } from '../../../functions/local/runner.js';
import { FAULT_SPEC } from '../../e2e/faults/support.js';
import { runCli } from '../../support/cli.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';

const freshHome = () => mkdtempSync(join(tmpdir(), 'sluice-anchor-'));
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Runs statements as a superuser behind the append-only triggers (replica mode fires no trigger). */
async function tamper(db: TestWarehouse, ...statements: string[]): Promise<void> {
  await db.wh.transaction(async (tx) => {
    await tx.query('SET LOCAL session_replication_role = replica');
    for (const sql of statements) await tx.query(sql);
  });
}

/** A database with a few audit records and its head anchored in a fresh home. */
async function anchoredDatabase(db: TestWarehouse) {
  const home = freshHome();
  const anchor = localAuditAnchor(home);
  await ensureInternalSchema(db.wh);
  for (const pipeline of ['a', 'b', 'c']) await appendAudit(db.wh, { kind: 'run.started', pipeline });
  expect(await anchorAuditHead(db.wh, anchor)).toMatchObject({ status: 'anchored' });
  return { home, anchor };
}

describe.each(warehouseTargets)('tampering with the audit trail on $name', (target) => {
  const opened: TestWarehouse[] = [];
  const open = async () => {
    const db = await target.open();
    opened.push(db);
    return db;
  };
  afterAll(async () => {
    for (const db of opened) await db.dispose();
  });

  describe('after a run', () => {
    let db: TestWarehouse;
    let home: string;
    beforeAll(async () => {
      db = await open();
      home = freshHome();
      const run = await runPipelineLocally({ specFile: FAULT_SPEC, home, warehouse: db.wh, logger: quiet });
      expect(run.error).toBeUndefined();
    });

    it('passes the untouched chain, anchored up to its last record by the commit', async () => {
      const result = await verifyAuditChain(db.wh, { anchor: localAuditAnchor(home) });

      const records = await readAuditLog(db.wh);
      expect(result).toMatchObject({ ok: true, problems: [], warnings: [] });
      expect(result.anchor).toMatchObject({ seq: records.at(-1)!.seq, hash: records.at(-1)!.hash });
      const keyFile = join(home, 'audit-anchor.key');
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    });

    it('warns without failing when the anchor is behind (a crash after the commit), and the next anchor clears it', async () => {
      const anchor = localAuditAnchor(home);
      await appendAudit(db.wh, { kind: 'run.started', pipeline: 'crashed-after-commit' });

      const behind = await verifyAuditChain(db.wh, { anchor });
      const next = await anchorAuditHead(db.wh, anchor);
      const after = await verifyAuditChain(db.wh, { anchor });

      expect(behind.ok).toBe(true);
      expect(behind.problems).toEqual([]);
      expect(behind.warnings).toEqual([
        expect.stringMatching(/^1 record\(s\) after the anchored head \(record \d+\) are not anchored yet/),
      ]);
      expect(next.status).toBe('anchored');
      expect(after).toMatchObject({ ok: true, warnings: [] });
    });
  });

  it('fails when the last record is deleted', async () => {
    const db = await open();
    const { anchor } = await anchoredDatabase(db);

    await tamper(db, 'DELETE FROM sluice.audit_log WHERE seq = (SELECT max(seq) FROM sluice.audit_log)');
    const result = await verifyAuditChain(db.wh, { anchor });

    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      {
        seq: 4,
        problem: expect.stringMatching(
          /^anchored in signed head file .+\.json on .+, but the audit log ends at record 3: records were removed from the end$/,
        ),
      },
    ]);
  });

  it('fails when the table is truncated', async () => {
    const db = await open();
    const { anchor } = await anchoredDatabase(db);

    await tamper(db, 'TRUNCATE sluice.audit_log');
    const result = await verifyAuditChain(db.wh, { anchor });

    expect(result).toMatchObject({ ok: false, records: 0 });
    expect(result.problems).toEqual([
      { seq: 4, problem: expect.stringContaining('but the audit log ends at no record (emptied)') },
    ]);
  });

  it("fails when a record is rewritten and the chain re-hashed with Sluice's own hash function", async () => {
    const db = await open();
    const { anchor } = await anchoredDatabase(db);
    const records = await readAuditLog(db.wh);

    // Change record 2, then recompute every hash from there: the chain is consistent again.
    const statements: string[] = [];
    let prev = records[0]!.hash;
    for (const r of records.slice(1)) {
      const changed = r.seq === 2 ? { ...r, pipeline: 'rewritten' } : r;
      const hash = auditRecordHash(prev, changed);
      statements.push(
        `UPDATE sluice.audit_log SET pipeline = '${changed.pipeline}', prev_hash = '${prev}', hash = '${hash}' WHERE seq = ${r.seq}`,
      );
      prev = hash;
    }
    await tamper(db, ...statements);
    const withoutAnchor = await verifyAuditChain(db.wh);
    const result = await verifyAuditChain(db.wh, { anchor });

    expect(withoutAnchor.problems).toEqual([]);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      { seq: 4, problem: expect.stringMatching(/: the chain was rewritten up to here$/) },
    ]);
  });

  it('refuses to re-anchor over a shortened chain, so the next run cannot hide the deletion', async () => {
    const db = await open();
    const { anchor } = await anchoredDatabase(db);
    await tamper(db, 'DELETE FROM sluice.audit_log WHERE seq >= 3');
    await appendAudit(db.wh, { kind: 'run.started', pipeline: 'next-run' });
    await appendAudit(db.wh, { kind: 'run.started', pipeline: 'next-run' });

    const outcome = await anchorAuditHead(db.wh, anchor);
    const result = await verifyAuditChain(db.wh, { anchor });

    expect(outcome).toEqual({
      status: 'refused',
      reason: expect.stringMatching(
        /^record 4 is not the one signed head file .+ holds: the chain was rewritten$/,
      ),
    });
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => p.seq)).toEqual([4]);
  });

  it('fails when the anchored head file is edited', async () => {
    const db = await open();
    const { home, anchor } = await anchoredDatabase(db);
    const file = join(
      home,
      'audit-anchor',
      `${(await auditDatabaseId(db.wh)).replace(/[^A-Za-z0-9_.-]/g, '_')}.json`,
    );
    const head = JSON.parse(readFileSync(file, 'utf8')) as { seq: number };
    writeFileSync(file, JSON.stringify({ ...head, seq: 2 }));
    chmodSync(file, 0o600);

    const result = await verifyAuditChain(db.wh, { anchor });

    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      { seq: 0, problem: expect.stringMatching(/is not signed by .+audit-anchor\.key for this database/) },
    ]);
  });

  // The CLI opens its own connection, and the run below is a process of its own: PostgreSQL only.
  it.skipIf(target.name !== 'pg')(
    '`sluice audit verify` warns after a run killed between its commit and the anchor, then exits 1 after a TRUNCATE',
    async () => {
      const db = await open();
      const home = freshHome();
      const killed = await runCli(['run', FAULT_SPEC, '--home', home, '--database-url', db.url!], {
        SLUICE_FAULT: 'after-run-commit:die',
      });
      expect(killed.code).not.toBe(0);

      const afterCrash = await verifyCli(home, db.url!);
      expect(afterCrash.code).toBe(0);
      expect(afterCrash.text).toMatch(/warning: no anchored head in signed head file .+ yet/);
      expect(afterCrash.text).toMatch(/audit chain ok: \d+ record\(s\)/);

      const next = await runCli(['run', FAULT_SPEC, '--home', home, '--database-url', db.url!]);
      expect(next.code, next.stderr).toBe(0);
      const anchored = await verifyCli(home, db.url!);
      expect(anchored.text).not.toContain('warning');
      expect(anchored.text).toMatch(
        /audit chain ok: \d+ record\(s\), head [0-9a-f]{64}, anchored up to record \d+/,
      );

      await tamper(db, 'TRUNCATE sluice.audit_log');
      const truncated = await verifyCli(home, db.url!);
      expect(truncated.text).toMatch(/records were removed from the end/);
      expect(truncated.text).toContain('audit chain BROKEN: 1 problem(s) in 0 record(s)');
      expect(truncated.code).toBe(1);
    },
    120_000,
  );
});

/** `sluice audit verify` in this process (the anchor files are this home's). */
async function verifyCli(home: string, url: string): Promise<{ code: number; text: string }> {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  try {
    const program = new Command().exitOverride();
    registerAuditCommand(program);
    await program.parseAsync(['node', 'sluice', 'audit', 'verify', '--home', home, '--database-url', url]);
  } finally {
    spy.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, text: out.join('') };
}
