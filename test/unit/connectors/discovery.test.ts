import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import {
  buildRegistry,
  registeredConnectors,
  sourceConnectors,
} from '../../../functions/connectors/registry.js';
import {
  connectorBundleDefines,
  findConnectorModules,
  renderDiscoveredModule,
} from '../../../functions/tooling/connector-discovery.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));

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

  it('renders one import per connector, each behind the constant that leaves it out of a bundle', () => {
    const text = renderDiscoveredModule({
      builtIn: ['postgres'],
      packages: ['@acme/sluice-connector-ledger'],
    });

    expect(text).toContain('declare const SLUICE_OMIT_CONNECTOR_POSTGRES: boolean | undefined;');
    expect(text).toContain(
      "typeof SLUICE_OMIT_CONNECTOR_POSTGRES === 'undefined' || !SLUICE_OMIT_CONNECTOR_POSTGRES",
    );
    expect(text).toContain(
      "[{ origin: 'functions/connectors/postgres', module: await import('./postgres/connector.js') }]",
    );
    expect(text).toContain("typeof SLUICE_OMIT_CONNECTOR_ACME_SLUICE_CONNECTOR_LEDGER === 'undefined'");
    expect(text).toContain(
      "[{ origin: '@acme/sluice-connector-ledger', module: await import('@acme/sluice-connector-ledger') }]",
    );
  });

  it('omits every built-in connector but the one kept, and never a package', () => {
    expect(
      connectorBundleDefines(
        { builtIn: ['http', 'mysql', 'postgres'], packages: ['sluice-connector-crm'] },
        'mysql',
      ),
    ).toEqual({
      SLUICE_OMIT_CONNECTOR_HTTP: 'true',
      SLUICE_OMIT_CONNECTOR_MYSQL: 'false',
      SLUICE_OMIT_CONNECTOR_POSTGRES: 'true',
      SLUICE_OMIT_CONNECTOR_SLUICE_CONNECTOR_CRM: 'false',
    });
    expect(connectorBundleDefines({ builtIn: ['http'], packages: [] }, 'files')).toEqual({
      SLUICE_OMIT_CONNECTOR_HTTP: 'true',
    });
  });

  it('names each built-in connector after its folder (what the bundle defines key on)', () => {
    const builtIn = registeredConnectors.filter((r) => r.origin.startsWith('functions/connectors/'));
    for (const r of builtIn) expect(r.origin).toBe(`functions/connectors/${r.connector.name}`);
    expect(builtIn.length).toBe(findConnectorModules(REPO).builtIn.length + 1);
  });

  it('bundles only the kept connector when the omit constants are defined', async () => {
    const bundle = async (define: Record<string, string>) => {
      const out = await build({
        entryPoints: [join(REPO, 'functions', 'connectors', 'registry.ts')],
        bundle: true,
        write: false,
        format: 'esm',
        platform: 'node',
        packages: 'external',
        metafile: true,
        define,
        logLevel: 'silent',
      });
      const text = out.outputFiles[0]!.text;
      expect(text, 'no omit constant is left to look up at run time').not.toMatch(
        Object.keys(define).length > 0 ? /SLUICE_OMIT_CONNECTOR_/ : /$^/,
      );
      return Object.keys(out.metafile.inputs).filter((f) => f.includes('/connector.ts'));
    };
    const all = await bundle({});
    const mysqlOnly = await bundle(connectorBundleDefines(findConnectorModules(REPO), 'mysql'));

    expect(all).toEqual(
      expect.arrayContaining([
        'functions/connectors/mysql/connector.ts',
        'functions/connectors/http/connector.ts',
      ]),
    );
    expect(mysqlOnly).toEqual(['functions/connectors/mysql/connector.ts']);
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
