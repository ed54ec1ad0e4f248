import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { scaffoldConnector } from '../../../bin/cli/scaffold.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A throwaway project sharing this repo's SDK, engine and node_modules (by symlink). */
function scratchProject(): string {
  const root = mkdtempSync(join(tmpdir(), 'sluice-scaffold-'));
  mkdirSync(join(root, 'functions', 'connectors'), { recursive: true });
  for (const dir of ['functions/sdk', 'functions/engine', 'functions/adapters', 'node_modules'])
    symlinkSync(join(REPO, dir), join(root, dir), 'dir');
  return root;
}

describe('sluice new connector', () => {
  const root = scratchProject();
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes a connector, its README and its contract test, and registers it for the build', () => {
    const written = scaffoldConnector('acme-orders', root);

    expect(written).toEqual([
      'functions/connectors/acme-orders/connector.ts',
      'functions/connectors/acme-orders/README.md',
      'test/unit/connectors/acme-orders.test.ts',
      'functions/connectors/discovered.ts',
    ]);
    expect(readFileSync(join(root, 'functions/connectors/discovered.ts'), 'utf8')).toContain(
      "module: await import('./acme-orders/connector.js')",
    );
    expect(readFileSync(join(root, 'functions/connectors/acme-orders/README.md'), 'utf8')).toMatch(
      /^# `acme-orders` source\n\n```yaml\nsource:\n {2}connector: acme-orders/,
    );
  });

  it('passes the contract kit unchanged: its generated test runs green', () => {
    expect(existsSync(join(root, 'test/unit/connectors/acme-orders.test.ts'))).toBe(true);

    const vitest = spawnSync(
      process.execPath,
      [join(REPO, 'node_modules/vitest/vitest.mjs'), 'run', '--root', root, '--reporter', 'verbose'],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0' },
        timeout: 50_000,
      },
    );

    expect(vitest.stdout + vitest.stderr).toContain(
      'acme-orders.test.ts > acme-orders source > keeps the connector contract',
    );
    expect(vitest.stdout).toMatch(/Tests +1 passed \(1\)/);
    expect(vitest.status).toBe(0);
  });

  it('fails when the name is not kebab-case or the connector exists', () => {
    expect(() => scaffoldConnector('Acme_Orders', root)).toThrow('connector name must be kebab-case');
    expect(() => scaffoldConnector('acme-orders', root)).toThrow(
      'functions/connectors/acme-orders already exists',
    );
  });
});
