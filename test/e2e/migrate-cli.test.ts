// Issue 12.3 through the CLI: a widened type migrates in the run; a dropped column waits for sluice migrate --apply --allow-drop-column.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const FIXTURES = 'test/fixtures/contract/e2e';

describe('versioned migrations through the CLI', () => {
  // Seven CLI processes, each opening the embedded database: minutes on a loaded 2-core machine.
  it('widens in the run, refuses a dropped column until migrate --apply --allow-drop-column, then runs', {
    timeout: 300_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-migrate-'));
    mkdirSync(join(dir, 'data'));
    const specFile = join(dir, 'sales-migrate.yaml');
    writeFileSync(
      specFile,
      readFileSync(join(FIXTURES, 'sales.yaml'), 'utf8')
        .replace('name: NAME', 'name: sales-migrate')
        .replace('table: TABLE', 'table: sales_migrate')
        .replace('schemaEvolution: POLICY', 'schemaEvolution: discard'),
    );
    const edit = (from: string, to: string) => {
      const text = readFileSync(specFile, 'utf8');
      expect(text).toContain(from);
      writeFileSync(specFile, text.replace(from, to));
    };
    const add = (file: string) => copyFileSync(join(FIXTURES, file), join(dir, 'data', file));
    const home = ['--home', join(dir, '.sluice')];

    add('sales-2026-01.csv');
    expect((await runCli(['run', specFile, ...home])).code).toBe(0);

    edit('amount: numeric(12,2)', 'amount: numeric(14,2)');
    add('sales-2026-02.csv');
    const widened = await runCli(['run', specFile, ...home, '--json']);
    expect(widened.code).toBe(0);
    expect(JSON.parse(widened.stdout)).toMatchObject({ loaded: 1 });

    edit('    note: text\n', '');
    const refused = await runCli(['run', specFile, ...home]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'drop column "note" text (no longer in the spec; its data is lost) [needs --allow-drop-column]',
    );
    expect(refused.stderr).toContain('sluice migrate sales-migrate --plan');

    const plan = await runCli(['migrate', specFile, ...home, '--plan']);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toBe(
      '-- drop column "note" text (no longer in the spec; its data is lost) [needs --allow-drop-column]\nALTER TABLE "shop"."sales_migrate" DROP COLUMN "note";\n',
    );
    const notAllowed = await runCli(['migrate', specFile, ...home, '--apply']);
    // Without the flag the change needs: a usage error (exit 2), one line naming the change and the flag.
    expect(notAllowed.code).toBe(2);
    expect(notAllowed.stderr).toContain('sluice: migration of shop.sales_migrate not applied');
    expect(notAllowed.stderr).toContain('[needs --allow-drop-column]');
    expect(notAllowed.stderr).not.toContain('MigrationNotAllowedError');

    const applied = await runCli(['migrate', specFile, ...home, '--apply', '--allow-drop-column']);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(
      'applied 1 change(s) to shop.sales_migrate, recorded in sluice.table_versions',
    );
    add('sales-2026-03-coupon.csv');
    const after = await runCli(['run', specFile, ...home]);
    expect(after.code).toBe(0);
  });
});
