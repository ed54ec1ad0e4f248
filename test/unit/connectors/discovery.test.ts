import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findConnectorModules, renderDiscoveredModule } from '../../../functions/connectors/discover.js';
import { buildRegistry, sourceConnectors } from '../../../functions/connectors/registry.js';

function projectWith(folders: string[], packages: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'sluice-discover-'));
  for (const f of folders) {
    mkdirSync(join(root, 'functions', 'connectors', f), { recursive: true });
    writeFileSync(join(root, 'functions', 'connectors', f, 'connector.ts'), 'export default {};\n');
  }
  mkdirSync(join(root, 'functions', 'connectors', 'sql-common'), { recursive: true });
  for (const p of packages) mkdirSync(join(root, 'node_modules', p), { recursive: true });
  return root;
}

const source = (name: string) => ({
  name,
  description: name,
  configSchema: {},
  plan: async () => ({ chunks: [], units: [], skipped: 0 }),
  read: async function* () {},
});

describe('connector discovery', () => {
  it('finds connector folders and sluice-connector-* packages, scoped or not, and nothing else', () => {
    const root = projectWith(
      ['postgres', 'http'],
      [
        'sluice-connector-salesforce',
        '@acme/sluice-connector-ledger',
        'left-pad',
        '@acme/other',
        'sluice-core',
      ],
    );

    expect(findConnectorModules(root)).toEqual({
      builtIn: ['http', 'postgres'],
      packages: ['@acme/sluice-connector-ledger', 'sluice-connector-salesforce'],
    });
  });

  it('renders static imports, so a bundler includes every connector', () => {
    const text = renderDiscoveredModule({
      builtIn: ['postgres'],
      packages: ['@acme/sluice-connector-ledger'],
    });

    expect(text).toContain("import builtIn0 from './postgres/connector.js';");
    expect(text).toContain("import package0 from '@acme/sluice-connector-ledger';");
    expect(text).toContain('export const discoveredModules: readonly unknown[] = [builtIn0, package0];');
  });

  it('registers the built-in sources of this build', () => {
    expect([...sourceConnectors.keys()]).toEqual(expect.arrayContaining(['files', 'postgres', 'mysql']));
  });

  it('registers a package whose default export is a connector or a list of them', () => {
    const registry = buildRegistry(
      [{ default: source('ledger') }, [source('crm'), { name: 'warehouse-x', write: async () => 0 }]],
      ['@acme/sluice-connector-ledger', 'sluice-connector-crm'],
    );

    expect(registry.map((r) => `${r.kind}:${r.connector.name}@${r.origin}`)).toEqual([
      'source:files@functions/connectors/files',
      'source:ledger@@acme/sluice-connector-ledger',
      'source:crm@sluice-connector-crm',
      'destination:warehouse-x@sluice-connector-crm',
    ]);
  });

  it('fails naming both origins when two connectors share a name', () => {
    expect(() =>
      buildRegistry([source('crm'), source('crm')], ['sluice-connector-a', 'sluice-connector-b']),
    ).toThrow('two source connectors are named "crm": sluice-connector-a and sluice-connector-b');
  });

  it('fails naming the package when it exports no connector', () => {
    expect(() => buildRegistry([{ default: { hello: 1 } }], ['sluice-connector-broken'])).toThrow(
      'sluice-connector-broken: its default export is not a connector',
    );
  });
});
