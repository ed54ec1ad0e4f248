import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteWarehouse } from '../../../functions/adapters/warehouse/pglite.js';
import { connectorRegistry } from '../../../functions/connectors/registry.js';
import { formatProblem } from '../../../functions/engine/spec/parse.js';
import { validateSpecFile } from '../../../functions/engine/spec/validate.js';
import { runPipelineLocally } from '../../../functions/local/runner.js';

const CATALOG = resolve('test/fixtures/bad-input');

/** What a case must lead to; see test/fixtures/bad-input/README.md. */
type Expected =
  | { outcome: 'invalid-spec'; problems: string[] }
  | { outcome: 'error'; message: string }
  | {
      outcome: 'loaded';
      read: number;
      loaded: number;
      rejected: number;
      filtered: number;
      /** Each must appear in some rejected row's reason. */
      reasons?: string[];
    };

interface Generate {
  file: string;
  kind: 'huge-field';
  bytes: number;
}

const cases = readdirSync(CATALOG, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const knownDefect = (name: string) =>
  'knownDefect' in (JSON.parse(readFileSync(join(CATALOG, name, 'expected.json'), 'utf8')) as object);

/** Files too big to keep in git are described in expected.json and written at test time. */
function generate(dir: string, g: Generate): void {
  const note = 'x'.repeat(g.bytes);
  // git keeps no empty folders: the case's data/ exists only once its file is written.
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(
    join(dir, 'data', g.file),
    `id,day,amount,note\n1,2026-01-01,1.50,"${note}"\n2,2026-01-02,2.50,short\n`,
  );
}

interface Reject {
  location: string;
  column?: string;
  reason: string;
}

function readRejects(home: string, runId: string): Reject[] {
  const dir = join(home, 'staging', 'runs', runId, 'rejects');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Reject),
    );
}

/**
 * Every case of the bad-input catalog through the whole local run: a clear error or rejected rows with
 * their reasons; nothing silently dropped (read = loaded + rejected + filtered), nothing crashes.
 */
describe('the bad-input catalog', () => {
  let wh: PgliteWarehouse;
  beforeAll(async () => {
    wh = await PgliteWarehouse.open();
  });
  afterAll(() => wh?.close());

  it('has a case for every kind of bad input the issue lists', () => {
    expect(cases).toHaveLength(25);
  });

  const check = async (name: string) => {
    const dir = mkdtempSync(join(tmpdir(), `sluice-bad-${name}-`));
    cpSync(join(CATALOG, name), dir, { recursive: true });
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected & {
      generate?: Generate;
    };
    if (expected.generate) generate(dir, expected.generate);
    const specFile = join(dir, 'spec.yaml');

    const { problems } = await validateSpecFile(specFile, connectorRegistry);
    if (problems.length > 0) {
      const lines = problems.map(formatProblem);
      expect({ outcome: 'invalid-spec', problems: lines }).toMatchObject({ outcome: expected.outcome });
      if (expected.outcome !== 'invalid-spec') return;
      for (const p of expected.problems) expect(lines.join('\n')).toContain(p);
      return;
    }
    const home = join(dir, '.sluice');
    const result = await runPipelineLocally({ specFile, home, warehouse: wh });

    if (result.status === 'failed') {
      expect({ outcome: 'error', message: result.error }).toMatchObject({ outcome: expected.outcome });
      if (expected.outcome === 'error') expect(result.error).toContain(expected.message);
      return;
    }
    const s = result.summary!;
    const rejects = readRejects(home, s.runId);
    const observed = {
      outcome: 'loaded',
      read: s.read,
      loaded: s.loaded,
      rejected: s.rejected,
      filtered: s.filtered,
    };
    expect(observed).toMatchObject({ outcome: expected.outcome });
    if (expected.outcome !== 'loaded') return;
    expect(observed).toEqual({
      outcome: 'loaded',
      read: expected.read,
      loaded: expected.loaded,
      rejected: expected.rejected,
      filtered: expected.filtered,
    });
    // Nothing silently dropped: every row is accounted for, every rejected row says where and why.
    expect(s.read).toBe(s.loaded + s.rejected + s.filtered);
    expect(rejects).toHaveLength(s.rejected);
    for (const r of rejects) {
      expect(r.location).toMatch(/:\d+$/);
      expect(r.reason.length).toBeGreaterThan(0);
    }
    const reasons = rejects.map((r) => `${r.column ? `${r.column}: ` : ''}${r.reason}`).join('\n');
    for (const reason of expected.reasons ?? []) expect(reasons).toContain(reason);
    const table = `bad_input.${name.replaceAll('-', '_')}`;
    const { rows } = await wh.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    expect(rows[0]!.n).toBe(s.loaded);
  };

  it.each(cases.filter((c) => !knownDefect(c)))('%s', check);
  // Known defects (see expected.json `knownDefect`): these must keep failing until fixed, then move up.
  it.fails.each(cases.filter(knownDefect))('%s (known defect)', check);
});
