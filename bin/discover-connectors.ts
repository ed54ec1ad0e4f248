import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDiscoveredModule } from '../functions/tooling/connector-discovery.js';

// Install-time step (npm postinstall): regenerates functions/connectors/discovered.ts. A script of its
// own, so no module that the CLI bundles decides at import time whether it is "the main module".
const found = writeDiscoveredModule(resolve(fileURLToPath(import.meta.url), '../..'));
process.stdout.write(
  `sluice: ${found.builtIn.length} built-in connector(s), ${found.packages.length} package(s): ${[...found.builtIn, ...found.packages].join(', ')}\n`,
);
