import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connectorRegistry } from '../../../functions/connectors/registry.js';
import { parseSpec } from '../../../functions/engine/spec/load.js';
import { formatProblem, parsePublishedSpec, SpecError } from '../../../functions/engine/spec/parse.js';
import { validateSpecFile } from '../../../functions/engine/spec/validate.js';

const fixture = (name: string) => `test/fixtures/specs/${name}`;
const minimal = readFileSync(fixture('minimal.yaml'), 'utf8');

function problemsOf(text: string, file = 'spec.yaml'): string[] {
  try {
    parseSpec(text, file);
  } catch (err) {
    if (err instanceof SpecError) return err.problems.map(formatProblem);
    throw err;
  }
  return [];
}

describe('spec YAML limits and reserved keys', () => {
  it('fails when aliases expand like a bomb, at the first alias', async () => {
    const { problems } = await validateSpecFile(fixture('alias-bomb.yaml'), connectorRegistry);

    expect(problems.map(formatProblem)).toEqual([
      'test/fixtures/specs/alias-bomb.yaml:6:10 (root): YAML: the aliases expand to more nodes than a spec may have (maxAliasCount 100): an alias bomb? write the values out instead',
    ]);
  });

  it('fails when __proto__, constructor or prototype is a key anywhere, each with its place', async () => {
    const { problems } = await validateSpecFile(fixture('reserved-keys.yaml'), connectorRegistry);

    const reserved = 'is not allowed: it is a reserved JavaScript name';
    expect(problems.map(formatProblem)).toEqual([
      `test/fixtures/specs/reserved-keys.yaml:7:5 source.config.__proto__: key "__proto__" ${reserved} (__proto__, constructor and prototype are refused anywhere in a spec)`,
      expect.stringContaining(
        `reserved-keys.yaml:9:16 transforms.0.default.__proto__: key "__proto__" ${reserved}`,
      ),
      expect.stringContaining(
        `reserved-keys.yaml:10:15 transforms.1.derive.constructor: key "constructor" ${reserved}`,
      ),
      expect.stringContaining(
        `reserved-keys.yaml:16:5 destination.columns.__proto__: key "__proto__" ${reserved}`,
      ),
      expect.stringContaining(
        `reserved-keys.yaml:17:5 destination.columns.prototype: key "prototype" ${reserved}`,
      ),
    ]);
  });

  it('fails when a published (JSON) spec has a reserved key', () => {
    const published = '{"name":"x","destination":{"columns":{"__proto__":"text"}}}';

    expect(() => parsePublishedSpec(published, 'spec.json')).toThrow(
      'spec.json:0:0 __proto__: key "__proto__" is not allowed',
    );
  });

  it('fails when flow collections nest too deeply, before the parser overflows', () => {
    const text = `name: x\nsource: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;

    expect(problemsOf(text)).toEqual([
      'spec.yaml:2:73 (root): YAML: nested more than 64 levels deep (a spec needs a handful)',
    ]);
  });

  it('fails when block mappings nest too deeply, at the first level too many', () => {
    const levels = Array.from({ length: 70 }, (_, i) => `${' '.repeat(i + 1)}k:`).join('\n');

    const problems = problemsOf(`name: x\nsource:\n${levels} 1\n`);

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^spec\.yaml:66:65 source(\.k)+: YAML: nested more than 64 levels deep/);
  });

  it('fails when the spec is larger than a spec may be, naming both sizes', () => {
    const text = `${minimal}description: ${'y'.repeat(300_000)}\n`;

    expect(problemsOf(text)).toEqual([
      expect.stringMatching(
        /^spec\.yaml:11:\d+ \(root\): YAML: the spec is 300\d{3} bytes, more than the 262144 a spec may have$/,
      ),
    ]);
  });

  it('still accepts a spec that uses a few aliases', () => {
    const text = minimal.replace(
      '    day: { type: date, nullable: false }',
      '    day: { type: date, nullable: false }\n    note: &t text\n    memo: *t',
    );

    expect(problemsOf(text)).toEqual([]);
  });
});
