import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connectorRegistry } from '../../../functions/connectors/registry.js';
import { loadSpecFile, parseSpec } from '../../../functions/engine/spec/load.js';
import { SpecError } from '../../../functions/engine/spec/parse.js';
import { parseByteSize } from '../../../functions/engine/spec/schema.js';
import { validateSpecFile } from '../../../functions/engine/spec/validate.js';

const fixture = (name: string) => `test/fixtures/specs/${name}`;

function problemsOf(file: string): string[] {
  try {
    parseSpec(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if (err instanceof SpecError) return err.problems.map((p) => `${p.line}:${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

describe('pipeline spec', () => {
  it('applies documented defaults to a minimal spec', async () => {
    const { spec, contentHash } = await loadSpecFile(fixture('minimal.yaml'));

    expect(spec.version).toBe(1);
    expect(spec.destination.schema).toBe('public');
    expect(spec.destination.mode).toBe('append');
    expect(spec.destination.partitioning?.by).toBe('month');
    expect(spec.chunking.targetBytes).toBe(32 * 1024 * 1024);
    expect(spec.quality.maxRejectRatio).toBe(0.05);
    expect(spec.runtime).toMatchObject({ compute: 'auto', concurrency: 8, toleratedFailurePercentage: 0 });
    expect(contentHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('accepts the example pipeline', async () => {
    const { spec } = await loadSpecFile('pipelines/orders.yaml');

    expect(spec.name).toBe('orders');
    expect(spec.destination.columns.country).toEqual({ type: 'varchar(2)', nullable: true });
    expect(spec.chunking.targetBytes).toBe(32 * 1024);
  });

  it('fails when the spec has many problems, reporting each with its line and field path', () => {
    const problems = problemsOf(fixture('many-errors.yaml'));

    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^1:name: must be kebab-case/),
        expect.stringMatching(/^11:destination\.columns\.day\.type: must be one of/),
        expect.stringMatching(/^12:destination\.columns\.amount\.type: must be one of/),
        expect.stringMatching(/^13:destination\.partitioning\.by: /),
        expect.stringMatching(/^15:quality\.maxRejectRatio: /),
        expect.stringMatching(/^16:colour: unknown field "colour"/),
      ]),
    );
  });

  it('fails when a unique key lacks the partition column, saying why PostgreSQL needs it', () => {
    const problems = problemsOf(fixture('key-without-partition.yaml'));

    expect(problems).toEqual([
      expect.stringMatching(
        /^11:destination\.key: must include the partition column "day": PostgreSQL requires/,
      ),
    ]);
  });

  it('accepts a destination without partitioning (a lookup table), with a key of its own', async () => {
    const { spec } = await loadSpecFile(fixture('unpartitioned.yaml'));

    expect(spec.destination.partitioning).toBeUndefined();
    expect(spec.destination.key).toEqual(['zip']);
  });

  it('fails when an unpartitioned destination asks for retention, naming the line and why', () => {
    const problems = problemsOf(fixture('retention-unpartitioned.yaml'));

    expect(problems).toEqual([
      expect.stringMatching(
        /^10:destination\.retention: needs destination\.partitioning: retention drops whole partitions/,
      ),
    ]);
  });

  it('fails when upsert has no key or the partition column is nullable', () => {
    const text = readFileSync(fixture('minimal.yaml'), 'utf8')
      .replace('table: events', 'table: events\n  mode: upsert')
      .replace('day: { type: date, nullable: false }', 'day: { type: date }');

    const problems = (() => {
      try {
        parseSpec(text, 'inline.yaml');
        return [];
      } catch (err) {
        return (err as SpecError).problems.map((p) => `${p.path}: ${p.message}`);
      }
    })();

    expect(problems).toEqual(
      expect.arrayContaining([
        'destination.key: is required when mode is upsert',
        expect.stringMatching(
          /^destination\.columns\.day\.nullable: partition column "day" must be nullable: false/,
        ),
      ]),
    );
  });

  it('fails when deletes is used outside upsert or with a soft-delete column the spec declares', () => {
    expect(problemsOf(fixture('deletes-misused.yaml'))).toEqual(
      expect.arrayContaining([
        '9:destination.deletes: deletes: soft needs mode: upsert or history (the target must hold one row per source key)',
        '14:destination.columns.deleted_at: "deleted_at" is the soft-delete column Sluice sets: remove it from columns, or name another with softDeleteColumn',
      ]),
    );
  });

  it('fails when deletes has more than one key column besides the partition column', () => {
    expect(problemsOf(fixture('deletes-composite-key.yaml'))).toEqual([
      '9:destination.key: deletes: hard needs exactly one key column besides the partition column "day" (the source\'s key), not 2',
      '11:destination.softDeleteColumn: is used only with deletes: soft',
    ]);
  });

  it('fails when mode: history declares its own columns, partitions by another column or soft-deletes', () => {
    expect(problemsOf(fixture('history-misused.yaml'))).toEqual(
      expect.arrayContaining([
        '10:destination.deletes: mode: history closes the version of a deleted key: use deletes: hard (or ignore)',
        '11:destination.history.tracked.0: "id" is not a destination column outside the key',
        '16:destination.columns.is_current: "is_current" is a history column Sluice adds: remove it from columns, or rename it under destination.history',
        '17:destination.partitioning.column: mode: history partitions by the version\'s start: set it to "valid_from"',
      ]),
    );
  });

  it('fails when the YAML itself is malformed, with the line of the syntax error', () => {
    const problems = problemsOf(fixture('broken.yaml'));

    expect(problems[0]).toMatch(/^3:: YAML: Nested mappings are not allowed in compact mappings/);
  });

  it('fails when the file does not exist', async () => {
    await expect(loadSpecFile('pipelines/nope.yaml')).rejects.toThrow(
      'pipelines/nope.yaml:0:0 (root): spec file not found',
    );
  });

  it('validates the connector config with file, line and field path', async () => {
    const { problems } = await validateSpecFile(fixture('bad-connector-config.yaml'), connectorRegistry);

    expect(problems.map((p) => `${p.line}:${p.path}: ${p.message}`)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^6:source\.config\.format: /),
        '7:source.config.delimiter: unknown field "delimiter"',
      ]),
    );
  });

  it('reports an unknown connector by name, listing the known ones', async () => {
    const text = readFileSync(fixture('minimal.yaml'), 'utf8').replace(
      'connector: files',
      'connector: oracle',
    );
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/sluice-spec-');
    writeFileSync(`${dir}/s.yaml`, text);

    const { problems } = await validateSpecFile(`${dir}/s.yaml`, connectorRegistry);

    expect(problems.map((p) => `${p.line}:${p.path}: ${p.message}`)).toEqual([
      '3:source.connector: unknown connector "oracle" (known: files, http, mysql, parquet, postgres)',
    ]);
  });

  it('parses byte sizes the way people write them', () => {
    expect(parseByteSize('64MiB')).toBe(64 * 1024 * 1024);
    expect(parseByteSize('500KB')).toBe(500_000);
    expect(parseByteSize('1.5 GiB')).toBe(1.5 * 1024 ** 3);
  });
});
