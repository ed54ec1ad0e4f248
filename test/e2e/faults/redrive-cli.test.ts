import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerRedriveCommand } from '../../../bin/cli/redrive.js';
import { createFaultInjector } from '../../../functions/local/faults.js';
import { runPipelineLocally } from '../../../functions/local/runner.js';
import type { TestWarehouse } from '../../integration/warehouse/targets.js';
import { crashTarget, FAULT_SPEC, freshHome, targetState } from './support.js';

const onPg = crashTarget.name === 'pg';
if (!onPg) console.warn('[redrive-cli] SKIPPING: the command opens its own connection (PostgreSQL)');

/** `sluice redrive <run>` as registered by bin/cli/redrive.ts (the lead wires it into bin/sluice.ts). */
describe.skipIf(!onPg)('sluice redrive', () => {
  let db: TestWarehouse;
  beforeAll(async () => {
    db = await crashTarget.open();
  });
  afterAll(() => db?.dispose());

  async function cli(args: string[]): Promise<string> {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    try {
      const program = new Command('sluice').exitOverride();
      registerRedriveCommand(program);
      await program.parseAsync(['node', 'sluice', ...args]);
    } finally {
      spy.mockRestore();
    }
    return out.join('');
  }

  it('finishes a failed run and prints its summary', async () => {
    const home = freshHome('redrive-cli');
    const failed = await runPipelineLocally({
      specFile: FAULT_SPEC,
      home,
      warehouse: db.wh,
      faults: createFaultInjector([{ point: 'after-copy-before-commit', action: 'fail-always', nth: 4 }]),
    });
    expect(failed.status).toBe('failed');

    const stdout = await cli(['redrive', failed.runId!, '--home', home, '--database-url', db.url!, '--json']);

    const summary = JSON.parse(stdout) as { runId: string; status: string; loaded: number };
    expect(summary).toMatchObject({ runId: failed.runId, status: 'succeeded' });
    expect((await targetState(db.wh)).rows).toBe(summary.loaded);
    expect(process.exitCode ?? 0).toBe(0);
  });

  it('fails with a clear message for a run that does not exist', async () => {
    await expect(
      cli([
        'redrive',
        '00000000-0000-4000-8000-000000000000',
        '--home',
        freshHome('x'),
        '--database-url',
        db.url!,
      ]),
    ).rejects.toThrow(/no run 00000000-0000-4000-8000-000000000000 in the run ledger/);
  });
});
