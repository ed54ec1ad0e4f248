import type { ConnectorLookup } from '../engine/ports/connectors.js';
import type { DestinationConnector } from '../sdk/destination.js';
import type { SourceConnector } from '../sdk/source.js';
import { discovered } from './discovered.js';
import { filesConnector } from './files/source.js';

export class UnknownConnectorError extends Error {
  constructor(name: string, known: string[]) {
    super(`unknown connector "${name}" (known: ${known.join(', ')})`);
    this.name = 'SpecError';
  }
}

export class ConnectorDiscoveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectorDiscoveryError';
  }
}

/** A registered connector and where it came from (`built-in`, a folder, or an npm package). */
export interface RegisteredConnector {
  kind: 'source' | 'destination';
  origin: string;
  connector: SourceConnector<unknown> | DestinationConnector<unknown>;
}

function isSource(value: unknown): value is SourceConnector<unknown> {
  const v = value as Partial<SourceConnector<unknown>> | undefined;
  return typeof v?.name === 'string' && typeof v.plan === 'function' && typeof v.read === 'function';
}

function isDestination(value: unknown): value is DestinationConnector<unknown> {
  const v = value as Partial<DestinationConnector<unknown>> | undefined;
  return typeof v?.name === 'string' && typeof v.write === 'function';
}

/**
 * Builds the registry from the built-in files source and the discovered modules (each a connector, an
 * array of them, or a module whose `default` is one). Two connectors with one name fail loudly.
 */
export function buildRegistry(
  modules: readonly unknown[],
  origins: readonly string[],
): RegisteredConnector[] {
  const registered: RegisteredConnector[] = [
    {
      kind: 'source',
      origin: 'functions/connectors/files',
      connector: filesConnector as unknown as SourceConnector<unknown>,
    },
  ];
  modules.forEach((mod, i) => {
    const origin = origins[i] ?? `module ${i}`;
    const value = (mod as { default?: unknown } | undefined)?.default ?? mod;
    const items = Array.isArray(value) ? value : [value];
    let found = 0;
    for (const item of items) {
      if (isSource(item)) registered.push({ kind: 'source', origin, connector: item });
      else if (isDestination(item)) registered.push({ kind: 'destination', origin, connector: item });
      else continue;
      found++;
    }
    if (found === 0)
      throw new ConnectorDiscoveryError(
        `${origin}: its default export is not a connector (use defineSource or defineDestination from the Sluice SDK)`,
      );
  });
  const byName = new Map<string, string>();
  for (const r of registered) {
    const key = `${r.kind}:${r.connector.name}`;
    const first = byName.get(key);
    if (first)
      throw new ConnectorDiscoveryError(
        `two ${r.kind} connectors are named "${r.connector.name}": ${first} and ${r.origin}`,
      );
    byName.set(key, r.origin);
  }
  return registered;
}

/** Every connector this build knows, in registration order. */
export const registeredConnectors: readonly RegisteredConnector[] = buildRegistry(
  discovered.map((d) => d.module),
  discovered.map((d) => d.origin),
);

/** Name → source connector. */
export const sourceConnectors: ReadonlyMap<string, SourceConnector<unknown>> = new Map(
  registeredConnectors
    .filter((r) => r.kind === 'source')
    .map((r) => [r.connector.name, r.connector as SourceConnector<unknown>]),
);

/** Name → destination connector. */
export const destinationConnectors: ReadonlyMap<string, DestinationConnector<unknown>> = new Map(
  registeredConnectors
    .filter((r) => r.kind === 'destination')
    .map((r) => [r.connector.name, r.connector as DestinationConnector<unknown>]),
);

export function getSourceConnector(name: string): SourceConnector<unknown> {
  const connector = sourceConnectors.get(name);
  if (!connector) throw new UnknownConnectorError(name, [...sourceConnectors.keys()]);
  return connector;
}

/** The registry as the engine looks connectors up (EngineDeps.connectors, validateSpecFile). */
export const connectorRegistry: ConnectorLookup = {
  getSource: getSourceConnector,
  sources: () => sourceConnectors,
};
