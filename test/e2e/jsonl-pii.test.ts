import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteWarehouse } from '../../functions/adapters/warehouse/pglite.js';
import { runPipelineLocally } from '../../functions/local/runner.js';

/** JSON Lines (gzipped), PII hashed with a key from the secrets adapter, week partitions, append mode. */
describe('a JSON Lines pipeline with PII hashing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-jsonl-'));
  const key = 'k3y-for-tests-0123456789abcdef!!';
  let wh: PgliteWarehouse;

  beforeAll(async () => {
    wh = await PgliteWarehouse.open();
    const lines = [];
    for (let i = 0; i < 500; i++) {
      const day = String(1 + (i % 28)).padStart(2, '0');
      lines.push(
        JSON.stringify({
          id: i,
          at: `2026-03-${day}T10:00:00Z`,
          email: `user${i}@example.com`,
          kind: i % 10 === 0 ? 'debug' : 'click',
          props: { n: i },
        }),
      );
    }
    lines.splice(100, 0, '{"id": 9999, "at": "2026-03-01T00:00:00Z", "email": ');
    writeFileSync(join(dir, 'events-1.jsonl.gz'), gzipSync(`${lines.join('\n')}\n`));
    writeFileSync(
      join(dir, 'events.yaml'),
      `name: events
source:
  connector: files
  config: { location: ${dir}, pattern: "*.jsonl.gz", format: jsonl }
transforms:
  - filter: 'kind != "debug"'
  - hash: { columns: [email], keySecret: pii-key }
  - derive: { day: "at" }
  - cast: { column: day, to: date, format: "yyyy-MM-dd'T'HH:mm:ssX" }
destination:
  schema: raw
  table: events
  columns:
    id: { type: bigint, nullable: false }
    day: { type: date, nullable: false }
    at: timestamptz
    email: text
    kind: text
    props: jsonb
  key: [id, day]
  partitioning: { column: day, by: week }
`,
    );
    process.env.SLUICE_SECRET_PII_KEY = key;
  });
  afterAll(async () => {
    delete process.env.SLUICE_SECRET_PII_KEY;
    await wh.close();
  });

  it('loads hashed emails, never the key, and quarantines the broken line', async () => {
    const home = join(dir, '.sluice');

    const result = await runPipelineLocally({ specFile: join(dir, 'events.yaml'), home, warehouse: wh });

    expect(result.error).toBeUndefined();
    expect(result.summary).toMatchObject({ read: 501, loaded: 450, rejected: 1, filtered: 50 });
    const row = await wh.query<{ email: string; props: unknown }>(
      'SELECT email, props FROM raw.events WHERE id = 7',
    );
    expect(row.rows[0]!.email).toBe(createHmac('sha256', key).update('user7@example.com').digest('hex'));
    expect(row.rows[0]!.props).toEqual({ n: 7 });
    const weeks = await wh.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events'",
    );
    expect(weeks.rows[0]!.n).toBe(6); // five ISO weeks touched in March 2026 plus the default partition
    for (const file of walk(home)) {
      const text = readFileSync(file, 'utf8');
      expect(text, file).not.toContain(key);
      expect(text, file).not.toContain('user7@example.com,');
    }
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}
