// Day 2 on the CLI over real runs of pipelines/orders.yaml: runs, runs <id>, rejects, a failed run's summary, exit codes, --version, --json.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail, RunRecord } from '../../functions/engine/read-side/index.js';
import { type TestWarehouse, warehouseTargets } from '../integration/warehouse/targets.js';
import { type CliResult, runCli } from '../support/cli.js';
import { exampleSpec } from '../support/pipelines.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
const pgTarget = warehouseTargets.find((t) => t.name === 'pg');
if (!pgTarget) console.warn('[day2] SKIPPING: the day-2 CLI tests run against the PostgreSQL server');

describe.skipIf(!pgTarget)('day 2 on the CLI', () => {
  let db: TestWarehouse;
  // The example, and a copy whose reject ratio threshold (0.1%) the sample data's 17 bad rows exceed.
  const ok = exampleSpec();
  const strict = exampleSpec([['maxRejectRatio: 0.01', 'maxRejectRatio: 0.001']]);
  const home = join(ok.dir, '.sluice');
  let env: NodeJS.ProcessEnv;
  let failedRun: CliResult;
  let failedId: string;
  let succeededId: string;
  const cli = (args: string[]) => runCli([...args, '--home', home], env);
  const json = <T>(r: CliResult) => JSON.parse(r.stdout) as T;

  beforeAll(async () => {
    db = await pgTarget!.open();
    env = { DATABASE_URL: db.url! };
    failedRun = await cli(['run', strict.specFile]);
    failedId = UUID.exec(failedRun.stderr)![0];
    const succeeded = await cli(['run', ok.specFile, '--json']);
    expect(succeeded.code).toBe(0);
    succeededId = json<{ runId: string }>(succeeded).runId;
  }, 120_000);
  afterAll(() => db?.dispose());

  const ledger = async (runId: string) =>
    (
      await db.wh.query<{ read: string; staged: string; rejected: string; filtered: string; chunks: string }>(
        `SELECT sum(rows_read) AS read, sum(rows_staged) AS staged, sum(rows_rejected) AS rejected,
                sum(rows_filtered) AS filtered, count(*) AS chunks FROM sluice.run_chunks WHERE run_id = $1`,
        [runId],
      )
    ).rows[0]!;

  it('fails a run over its reject threshold with exit 1, its counts, top reject reasons and the rejects path', async () => {
    const l = await ledger(failedId);
    expect(failedRun.code).toBe(1);
    expect(failedRun.stderr).toContain(
      `run ${failedId} failed: quality check failed: 17 of 4806 rows rejected`,
    );
    expect(failedRun.stderr).toContain('more than quality.maxRejectRatio 0.1%');
    expect(failedRun.stderr).toContain(
      `  read ${l.read} = loaded 0 + rejected ${l.rejected} + filtered ${l.filtered} + duplicate keys 0 + uncommitted ${l.staged}`,
    );
    expect(Number(l.read)).toBe(4806);
    expect(failedRun.stderr).toMatch(
      / {2}top reject reasons:\n {4} +6 {2}order_id: column "order_id" is required/,
    );
    expect(failedRun.stderr).toContain(
      `  rejected rows with reasons: ${join(home, 'staging', 'runs', failedId, 'rejects')}/ (sluice rejects ${failedId})`,
    );
  });

  it('lists runs whose counts add up and match the ledger, with dedup, a failed run counted and its whole error', async () => {
    const listed = await cli(['runs', '--json']);
    const runs = json<RunRecord[]>(listed);
    expect(runs.map((r) => [r.runId, r.status])).toEqual([
      [succeededId, 'succeeded'],
      [failedId, 'failed'],
    ]);
    const row = (
      await db.wh.query<Record<string, string>>(
        'SELECT rows_read, rows_loaded, rows_rejected, rows_filtered, rows_deduplicated FROM sluice.runs WHERE run_id = $1',
        [succeededId],
      )
    ).rows[0]!;
    expect(runs[0]!.counts).toEqual({
      source: 'commit',
      read: Number(row.rows_read),
      loaded: Number(row.rows_loaded),
      rejected: Number(row.rows_rejected),
      filtered: Number(row.rows_filtered) + Number(row.rows_deduplicated),
      filteredByRule: Number(row.rows_filtered),
      deduplicated: Number(row.rows_deduplicated),
      uncommitted: 0,
    });
    const l = await ledger(failedId);
    expect(runs[1]!.counts).toMatchObject({
      source: 'ledger',
      read: Number(l.read),
      loaded: 0,
      rejected: Number(l.rejected),
      uncommitted: Number(l.staged),
    });
    for (const r of runs)
      expect(r.counts.read).toBe(
        r.counts.loaded + r.counts.rejected + r.counts.filtered + r.counts.uncommitted,
      );

    const text = await cli(['runs']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/read +loaded +rejected +filtered +dedup +uncommitted +seconds/);
    expect(text.stdout).toMatch(new RegExp(`${succeededId} +succeeded +4,806 +4,729 +17 +54 +6 +0 `));
    expect(text.stdout).toMatch(new RegExp(`${failedId} +failed +4,806 +0 +17 +54 +0 +4,735 `));
    // The whole error, not 60 characters of it.
    expect(runs[1]!.error!.length).toBeGreaterThan(60);
    // Without the class name the ledger keeps (QualityCheckError: …).
    expect(runs[1]!.error).toMatch(/^QualityCheckError: quality check failed/);
    expect(text.stdout).toContain(`  ${failedId}  ${runs[1]!.error!.replace('QualityCheckError: ', '')}`);
    expect(text.stdout).not.toContain('QualityCheckError');
    expect(text.stderr).toContain(`database: ${db.wh.description} (DATABASE_URL)`);
  });

  it('shows one run: spec version and hash, phases, chunks with counts and durations, partitions, reasons, events', async () => {
    const detail = json<RunDetail>(await cli(['runs', succeededId, '--json']));
    const chunks = (
      await db.wh.query<{ chunk_id: string; rows_read: string; rows_rejected: string }>(
        'SELECT chunk_id, rows_read, rows_rejected FROM sluice.run_chunks WHERE run_id = $1 ORDER BY seq',
        [succeededId],
      )
    ).rows;
    expect(Object.keys(detail).sort()).toEqual(
      [
        'chunks',
        'events',
        'partitions',
        'phases',
        'rejectsLocation',
        'run',
        'topRejectReasons',
        'warnings',
      ].sort(),
    );
    expect(detail.chunks.map((c) => [c.chunkId, c.read, c.rejected])).toEqual(
      chunks.map((c) => [c.chunk_id, Number(c.rows_read), Number(c.rows_rejected)]),
    );
    expect(detail.chunks).toHaveLength(16);
    for (const c of detail.chunks) expect(c.durationMs).toBeGreaterThanOrEqual(0);
    expect(detail.phases.map((p) => p.name)).toEqual(['prepare', 'chunks', 'commit']);
    expect(detail.partitions).toHaveLength(6);
    expect(detail.topRejectReasons!.reduce((n, r) => n + r.count, 0)).toBe(17);
    expect(detail.events!.map((e) => e.kind)).toEqual(['run.started', 'run.committed']);

    const text = await cli(['runs', succeededId]);
    expect(text.stdout).toContain(`spec          version 1, hash ${detail.run.specHash}`);
    expect(text.stdout).toContain(
      'counts        read 4,806 = loaded 4,729 + rejected 17 + filtered 54 + duplicate keys 6',
    );
    expect(text.stdout).toMatch(/phases:\n {2}phase +started +seconds\n {2}prepare /);
    expect(text.stdout).toMatch(
      /chunks:\n {2}chunk +route +read +staged +rejected +filtered +bytes +seconds\n {2}chunk-00000 +lambda +353 /,
    );
    expect(text.stdout).toContain('top reject reasons:');
    expect(text.stdout).toContain(`(sluice rejects ${succeededId})`);
    expect(text.stdout).toMatch(/events:\n {2}\S+ \S+ {2}run\.started/);

    const failed = json<RunDetail>(await cli(['runs', failedId, '--json']));
    expect(failed.phases.map((p) => p.name)).toEqual(['prepare', 'chunks', 'fail']);
    expect(failed.events!.map((e) => e.kind)).toEqual(['run.started', 'run.failed']);
  });

  it('browses rejects by column and reason, as text, JSON and CSV, counting what the files hold', async () => {
    const dir = join(home, 'staging', 'runs', succeededId, 'rejects');
    const lines = readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
      .map((l) => JSON.parse(l) as { column?: string; reason: string });
    expect(lines).toHaveLength(17);

    const quantity = json<{ matched: number; total: number; rows: { column: string }[] }>(
      await cli(['rejects', succeededId, '--column', 'quantity', '--json']),
    );
    expect(quantity.matched).toBe(lines.filter((l) => l.column === 'quantity').length);
    expect(quantity.total).toBe(17);
    expect(quantity.rows.every((r) => r.column === 'quantity')).toBe(true);

    const csv = await cli(['rejects', succeededId, '--reason', 'CANNOT CAST', '--limit', '2', '--csv']);
    expect(csv.stdout.split('\r\n')).toEqual([
      'chunk,location,column,reason,row',
      expect.stringMatching(/^chunk-\d+,orders-2026-\d\d\.csv:\d+,\w+,"cannot cast ""[^"]*"" to /),
      expect.stringMatching(/^chunk-\d+,orders-2026-\d\d\.csv:\d+,\w+,"cannot cast /),
      '',
    ]);

    const text = await cli(['rejects', succeededId, '--limit', '1']);
    expect(text.stdout).toMatch(/^orders-2026-01\.csv:\d+ {2}\w+ {2}.+\n {4}\{"order_id":/);
    expect(text.stdout).toContain(`17 of 17 rejected row(s) match, 1 shown (--limit); files: ${dir}/`);
  });

  it('refuses to show no rejects for a run that has some, when --home is not the one the run used', async () => {
    const elsewhere = join(strict.dir, '.other-home');
    const result = await runCli(['rejects', succeededId, '--home', elsewhere], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `sluice: run ${succeededId} rejected 17 row(s) but ${join(elsewhere, 'staging')}/runs/${succeededId}/rejects/ holds 0: is --home the one the run used?`,
    );
    const detail = JSON.parse(
      (await runCli(['runs', succeededId, '--json', '--home', elsewhere], env)).stdout,
    ) as RunDetail;
    expect(detail.warnings).toEqual([
      expect.stringMatching(/^the ledger counts 17 rejected row\(s\) but the rejects files under .* hold 0/),
    ]);
  });

  it('prints --version from package.json and exits 0', async () => {
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    const result = await runCli(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it("exits 2 on usage errors (commander's own and the commands'), and on a spec error", async () => {
    const badOption = await cli(['runs', '--limit', '0']);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain("error: option '--limit <n>' argument '0' is invalid");
    const unknown = await runCli(['rnus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error: unknown command 'rnus'");
    const missing = await runCli(['rejects']);
    expect(missing.code).toBe(2);
    const noRun = await cli(['runs', '00000000-0000-4000-8000-000000000000']);
    expect(noRun).toMatchObject({ code: 2 });
    expect(noRun.stderr).toContain('sluice: no run 00000000-0000-4000-8000-000000000000 in this database');
    const spec = await cli(['run', 'test/fixtures/specs/many-errors.yaml']);
    expect(spec.code).toBe(2);
    expect(spec.stderr).toContain('invalid spec:');
  });

  it('prints errors without a class name and keeps the stack in the log file', async () => {
    // Redriving a succeeded run is refused by RedriveError.
    const result = await cli(['redrive', succeededId]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`^sluice: (?!RedriveError)[^\\n]*${succeededId}[^\\n]*succeeded`, 'm'),
    );
    expect(result.stderr).not.toMatch(/\w+Error: /);
    expect(readFileSync(join(home, 'logs', 'sluice.log'), 'utf8')).toMatch(/"stack":"RedriveError: /);
  });

  it('gives --json on every read command, machine-readable', async () => {
    const plan = json<{ pipeline: string; chunks: unknown[]; skippedSources: number }>(
      await cli(['plan', ok.specFile, '--json']),
    );
    expect(plan).toMatchObject({ pipeline: 'orders', chunks: [], skippedSources: 6 });
    const validate = await runCli([
      'validate',
      'test/fixtures/specs/many-errors.yaml',
      'pipelines/orders.yaml',
      '--json',
    ]);
    expect(validate.code).toBe(2);
    const report = json<{
      ok: boolean;
      specs: { file: string; ok: boolean; problems: { line: number }[] }[];
    }>(validate);
    expect(report.ok).toBe(false);
    expect(report.specs.map((s) => [s.file, s.ok])).toEqual([
      ['test/fixtures/specs/many-errors.yaml', false],
      ['pipelines/orders.yaml', true],
    ]);
    expect(report.specs[0]!.problems[0]).toMatchObject({ line: 1 });
    const connectors = json<{ name: string }[]>(await runCli(['connectors', '--json']));
    expect(connectors.map((c) => c.name)).toContain('files');
    const audit = await cli(['audit', 'verify', '--json']);
    expect(audit.code).toBe(0);
    expect(json<{ ok: boolean; records: number }>(audit)).toMatchObject({ ok: true });
  });
});
