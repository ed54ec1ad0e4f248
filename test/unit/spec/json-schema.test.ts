import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseSpec } from '../../../functions/engine/spec/load.js';
import { SpecError } from '../../../functions/engine/spec/parse.js';
import { pipelineJsonSchema } from '../../../functions/engine/spec/schema.js';

/**
 * `sluice schema` is the spec for editors and other tools (issue 12): it must compile under Ajv's strict
 * mode, accept every spec the project ships or shows (pipelines/, README.md, docs/, connector READMEs),
 * and refuse what the zod validator refuses.
 */
const ajv = new Ajv2020({ strict: true, allErrors: true });
const validate = ajv.compile(pipelineJsonSchema());

const docs = [
  'README.md',
  ...readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => join('docs', f)),
  ...readdirSync('functions/connectors', { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join('functions/connectors', d.name, 'README.md'))
    .filter((f) => {
      try {
        return readFileSync(f, 'utf8').length > 0;
      } catch {
        return false;
      }
    }),
];

/** Every ```yaml block of a Markdown file that is a whole spec (name, source and destination). */
function specBlocks(file: string): { where: string; text: string }[] {
  const markdown = readFileSync(file, 'utf8');
  return [...markdown.matchAll(/```ya?ml\n([\s\S]*?)```/g)].flatMap((m) => {
    const text = m[1]!;
    const value: unknown = parse(text);
    const isSpec =
      value !== null &&
      typeof value === 'object' &&
      ['name', 'source', 'destination'].every((k) => k in value);
    const line = markdown.slice(0, m.index).split('\n').length;
    return isSpec ? [{ where: `${file}:${line}`, text }] : [];
  });
}

const shipped = [
  ...readdirSync('pipelines')
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => ({ where: join('pipelines', f), text: readFileSync(join('pipelines', f), 'utf8') })),
  ...docs.flatMap(specBlocks),
];

const INVALID = 'test/fixtures/specs/json-schema-invalid';

function zodProblems(text: string, file: string): string[] {
  try {
    parseSpec(text, file);
    return [];
  } catch (error) {
    if (error instanceof SpecError) return error.problems.map((p) => p.message);
    throw error;
  }
}

describe('the exported JSON Schema of the spec', () => {
  it('finds the specs it checks: the pipelines and the docs', () => {
    expect(shipped.filter((s) => s.where.startsWith('pipelines/')).length).toBeGreaterThanOrEqual(1);
    expect(
      shipped.filter((s) => s.where.endsWith('.md') || s.where.includes('.md:')).length,
    ).toBeGreaterThanOrEqual(1);
  });

  for (const { where, text } of shipped) {
    it(`accepts ${where}, as the zod validator does`, () => {
      expect(zodProblems(text, where)).toEqual([]);
      const ok = validate(parse(text));
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    });
  }

  it('accepts the column shorthand `name: type` and the long form', () => {
    const spec = parse(readFileSync('test/fixtures/specs/minimal.yaml', 'utf8')) as {
      destination: { columns: Record<string, unknown> };
    };
    spec.destination.columns.note = 'varchar(20)';
    spec.destination.columns.amount = { type: 'numeric(12,2)', nullable: true, description: 'in EUR' };

    expect(validate(spec)).toBe(true);
  });

  it('accepts a destination without partitioning (a lookup table)', () => {
    const text = readFileSync('test/fixtures/specs/unpartitioned.yaml', 'utf8');

    expect(zodProblems(text, 'unpartitioned.yaml')).toEqual([]);
    expect(validate(parse(text))).toBe(true);
  });

  for (const file of readdirSync(INVALID)) {
    it(`fails when the spec is ${file.replace(/\.yaml$/, '').replaceAll('-', ' ')}: both validators refuse it`, () => {
      const text = readFileSync(join(INVALID, file), 'utf8');

      expect(zodProblems(text, file)).not.toEqual([]);
      expect(validate(parse(text))).toBe(false);
    });
  }
});
