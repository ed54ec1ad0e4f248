/**
 * The folder rules of docs/architecture.md, checked by `npm run lint` (dependency-cruiser).
 * test/unit/architecture.test.ts plants a back-reference and asserts these rules report it.
 * @type {import('dependency-cruiser').IConfiguration}
 */
const AWS_SDK = '^node_modules/(@aws-sdk|@smithy|@aws-lambda-powertools|@middy|aws-cdk-lib|constructs)/';
const ENGINE_PORTS_AND_TYPES = '^functions/engine/(ports/|types\\.ts$)';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle between modules: split the shared part out, or invert the dependency through a port.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'engine-is-the-core',
      severity: 'error',
      comment:
        'The engine is the pure core: it owns its ports (functions/engine/ports/) and reaches adapters, connectors and the rest through its deps, never by import.',
      from: { path: '^functions/engine/' },
      to: { path: '^(functions/(adapters|connectors|sdk|handlers|local|tooling)/|lib/|bin/|container/)' },
    },
    {
      name: 'read-side-reads-through-ports',
      severity: 'error',
      comment:
        'The read side (functions/engine/read-side/) serves the CLI, the console and a deployed stage over one SQL port: it imports engine ports and types and its own folder, never the load protocol or the run steps (so a Data API reader loads no writer code).',
      from: { path: '^functions/engine/read-side/' },
      to: { path: '^functions/', pathNot: ['^functions/engine/read-side/', ENGINE_PORTS_AND_TYPES] },
    },
    {
      name: 'engine-without-aws-sdk',
      severity: 'error',
      comment: 'The engine talks to AWS only through ports that adapters implement.',
      from: { path: '^functions/engine/' },
      to: { path: AWS_SDK },
    },
    {
      name: 'adapters-implement-ports',
      severity: 'error',
      comment:
        'Adapters implement engine ports: they may import engine/ports and engine/types, nothing else above them.',
      from: { path: '^functions/adapters/' },
      to: {
        path: '^(functions/(engine|connectors|sdk|handlers|local|tooling)/|lib/|bin/|container/)',
        pathNot: ENGINE_PORTS_AND_TYPES,
      },
    },
    {
      name: 'connectors-use-the-sdk',
      severity: 'error',
      comment:
        'A connector imports functions/sdk, its own folder and the shared sql-common helpers; engine ports and types only as types (better: through the sdk re-exports).',
      from: { path: '^functions/connectors/([^/]+)/' },
      to: {
        path: '^(functions/|lib/|bin/|container/)',
        pathNot: [
          '^functions/sdk/',
          '^functions/connectors/$1/',
          '^functions/connectors/sql-common/',
          '^functions/shared/',
          ENGINE_PORTS_AND_TYPES,
        ],
      },
    },
    {
      name: 'connectors-use-engine-types-only-as-types',
      severity: 'error',
      comment: 'A connector may name engine ports and types, not run engine code.',
      from: { path: '^functions/connectors/' },
      to: { path: ENGINE_PORTS_AND_TYPES, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'sdk-depends-on-engine-types-only',
      severity: 'error',
      comment:
        'The SDK is what connector authors build on: of the engine it re-exports ports and types (import type) only; it may use adapters (the contract kit runs a connector on folder storage), nothing above them.',
      from: { path: '^functions/sdk/' },
      to: {
        path: '^(functions/(engine|connectors|handlers|local|tooling)/|lib/|bin/|container/)',
        pathNot: ENGINE_PORTS_AND_TYPES,
      },
    },
    {
      name: 'sdk-imports-engine-only-as-types',
      severity: 'error',
      from: { path: '^functions/sdk/' },
      to: { path: ENGINE_PORTS_AND_TYPES, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'handlers-are-wiring',
      severity: 'error',
      comment:
        'Handlers wire the engine to adapters and the connector registry; they do not reach into a connector, the local runner, the CLI or the CDK app.',
      from: { path: '^functions/handlers/' },
      to: { path: '^(functions/(connectors/[^/]+/|local/|tooling/)|lib/|bin/|container/)' },
    },
    {
      name: 'local-runner-stays-below-the-cli',
      severity: 'error',
      comment:
        'The local runner may use the engine, adapters, handlers and connectors, not the CLI or the CDK app.',
      from: { path: '^functions/local/' },
      to: { path: '^(lib/|bin/|container/)' },
    },
    {
      name: 'cdk-reads-only-the-spec',
      severity: 'error',
      comment:
        'The CDK app (lib/) may import the spec (functions/engine/spec/), build-time tooling (functions/tooling/: connector discovery for the bundles) and its own files; handler internals are bundled by path, never imported.',
      from: { path: '^lib/' },
      to: {
        path: '^(functions/|bin/|container/)',
        pathNot: ['^functions/engine/spec/', '^functions/tooling/'],
      },
    },
    {
      name: 'cli-leaves-the-cdk-app-alone',
      severity: 'error',
      comment:
        'The CLI may import anything but lib/ internals; bin/app.ts is the CDK entry, and lib/naming.ts (names shared by the stacks and the CLI, importing nothing) is the one module both read.',
      from: { path: '^bin/', pathNot: '^bin/app\\.ts$' },
      to: { path: '^lib/', pathNot: '^lib/naming\\.ts$' },
    },
    {
      name: 'shared-imports-nothing',
      severity: 'error',
      comment:
        'functions/shared/ holds pure helpers that every layer may use (engine, connectors, adapters); it imports only node built-ins and its own files.',
      from: { path: '^functions/shared/' },
      to: { path: '^(functions/(?!shared/)|lib/|bin/|container/|node_modules/)' },
    },
    {
      name: 'no-test-code-in-the-product',
      severity: 'error',
      from: { path: '^(functions|lib|bin|container)/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|cdk\\.out|\\.sluice)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.mjs', '.js', '.cjs', '.d.ts', '.json'],
    },
    moduleSystems: ['es6', 'cjs'],
    skipAnalysisNotInRules: true,
  },
};
