import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerAuditCommand } from '../../../bin/cli/audit.js';
import { readAuditLog, verifyAuditChain } from '../../../functions/engine/audit/log.js';
import { applyRetention } from '../../../functions/engine/load/index.js';
import { loadSpecFile } from '../../../functions/engine/spec/load.js';
import { createFaultInjector } from '../../../functions/local/faults.js';
import { redriveRunLocally } from '../../../functions/local/redrive.js';
import { runPipelineLocally } from '../../../functions/local/runner.js';
import { FAULT_SPEC } from '../../e2e/faults/support.js';
import { type TestWarehouse, warehouseTargets } from '../warehouse/targets.js';

const home = () => mkdtempSync(join(tmpdir(), 'sluice-audit-'));

describe.each(warehouseTargets)('the audit trail on $name', (target) => {
  let db: TestWarehouse;
  let committedRun: string;
  let redrivenRun: string;
  beforeAll(async () => {
    db = await target.open();
    const ok = await runPipelineLocally({ specFile: FAULT_SPEC, home: home(), warehouse: db.wh });
    committedRun = ok.runId!;
    // A second source version would be needed to load again; a full refresh fails, then is redriven.
    const dir = home();
    const failed = await runPipelineLocally({
      specFile: FAULT_SPEC,
      home: dir,
      warehouse: db.wh,
      fullRefresh: true,
      faults: createFaultInjector([{ point: 'inside-run-commit', action: 'fail-always', nth: 1 }]),
    });
    redrivenRun = failed.runId!;
    await redriveRunLocally({ runId: redrivenRun, home: dir, warehouse: db.wh });
    const { spec } = await loadSpecFile(FAULT_SPEC);
    await applyRetention(
      db.wh,
      { ...spec.destination, retention: { keep: 1 } },
      { now: new Date('2026-06-15T00:00:00Z') },
    );
  });
  afterAll(() => db?.dispose());

  it('records migrations, runs started, committed, failed, redriven and partitions dropped, in order', async () => {
    const records = await readAuditLog(db.wh);
    const kinds = records.map(
      (r) => `${r.kind}${r.runId === committedRun ? ' #1' : r.runId === redrivenRun ? ' #2' : ''}`,
    );

    // The target is created inside the first run, once its columns resolved against the source.
    expect(kinds).toEqual([
      'schema.migrated',
      'run.started #1',
      'schema.migrated',
      'run.committed #1',
      'run.started #2',
      'run.failed #2',
      'run.redriven #2',
      'run.committed #2',
      'partitions.dropped',
    ]);
    expect(JSON.parse(records.at(-1)!.detail)).toMatchObject({
      table: 'analytics.fault_orders',
      partitions: [
        'fault_orders_p202601',
        'fault_orders_p202602',
        'fault_orders_p202603',
        'fault_orders_p202604',
      ],
    });
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
  });

  it('verifies an untouched chain', async () => {
    const result = await verifyAuditChain(db.wh);

    expect(result).toMatchObject({ ok: true, problems: [] });
    expect(result.records).toBeGreaterThanOrEqual(9);
  });

  it.each([
    ['UPDATE', `UPDATE sluice.audit_log SET detail = '{}' WHERE seq = 1`],
    ['DELETE', 'DELETE FROM sluice.audit_log WHERE seq = 1'],
    ['TRUNCATE', 'TRUNCATE sluice.audit_log'],
  ])('fails when even the table owner tries to %s a record', async (op, sql) => {
    await expect(db.wh.query(sql)).rejects.toThrow(`sluice.audit_log is append-only: ${op} is not allowed`);
  });

  it('reports the record a superuser edited behind the trigger', async () => {
    await db.wh.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(`UPDATE sluice.audit_log SET detail = '{"read":0}' WHERE seq = 4`);
    });

    const result = await verifyAuditChain(db.wh);

    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      { seq: 4, problem: 'content changed: its hash does not match what it says' },
    ]);
  });

  it('reports a record a superuser deleted behind the trigger', async () => {
    await db.wh.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query('DELETE FROM sluice.audit_log WHERE seq = 6');
    });

    const result = await verifyAuditChain(db.wh);

    expect(result.problems).toContainEqual({
      seq: 7,
      problem: 'expected record 6 here: records are missing',
    });
    expect(result.problems).toContainEqual({
      seq: 7,
      problem: 'prev_hash does not match the record before it',
    });
  });

  // The CLI opens its own connection: PostgreSQL only (an in-memory PGlite belongs to this process).
  it.skipIf(target.name !== 'pg')(
    '`sluice audit verify` exits 1 and names the tampered records',
    async () => {
      const out: string[] = [];
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
        out.push(String(chunk));
        return true;
      });
      try {
        const program = new Command().exitOverride();
        registerAuditCommand(program);
        await program.parseAsync(['node', 'sluice', 'audit', 'verify', '--database-url', db.url!]);
      } finally {
        spy.mockRestore();
      }
      const text = out.join('');
      expect(text).toContain('record 4: content changed');
      expect(text).toMatch(/audit chain BROKEN: \d+ problem\(s\)/);
      expect(process.exitCode).toBe(1);
      process.exitCode = 0;
    },
  );
});
