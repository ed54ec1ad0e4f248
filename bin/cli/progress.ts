import cliProgress from 'cli-progress';
import type { ChunkCounts, RunSummary } from '../../functions/engine/types.js';

/**
 * The run's live display: a bar over chunks with rows read and rejected so far. The same display follows
 * a local run and a run in AWS. Without a TTY (CI, pipes) it prints one line per event instead.
 */
export class ProgressDisplay {
  private bar?: cliProgress.SingleBar;
  private rows = 0;
  private rejected = 0;
  private done = 0;
  private total = 0;
  private readonly started = Date.now();

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly interactive = Boolean(process.stderr.isTTY) && !process.env.CI,
  ) {}

  planned(info: { chunks: number; skippedSources: number; runId: string }): void {
    this.total = info.chunks;
    const skipped = info.skippedSources
      ? `, ${info.skippedSources} source file(s) already loaded and skipped`
      : '';
    this.out.write(`run ${info.runId}: ${info.chunks} chunk(s) to load${skipped}\n`);
    if (this.interactive && info.chunks > 0) {
      this.bar = new cliProgress.SingleBar(
        {
          format:
            ' chunks {bar} {value}/{total} | rows {rows} | rejected {rejected} | {rate} rows/s | {duration_formatted}',
          hideCursor: true,
          stream: this.out,
          barsize: 30,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(info.chunks, 0, { rows: 0, rejected: 0, rate: 0 });
    }
  }

  chunkDone(chunkId: string, counts: ChunkCounts, status: 'loaded' | 'already-loaded'): void {
    this.done++;
    this.rows += counts.read;
    this.rejected += counts.rejected;
    const seconds = Math.max((Date.now() - this.started) / 1000, 0.001);
    const rate = Math.round(this.rows / seconds);
    if (this.bar) {
      this.bar.update(this.done, { rows: this.rows, rejected: this.rejected, rate });
    } else {
      const note = status === 'already-loaded' ? ' (already loaded, skipped)' : '';
      this.out.write(
        `  ${chunkId} ${this.done}${this.total ? `/${this.total}` : ''}: read ${counts.read}, staged ${counts.staged}, rejected ${counts.rejected}, filtered ${counts.filtered}${note}\n`,
      );
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

const n = (v: number) => v.toLocaleString('en-US');

/** Source columns that reached no destination column: never dropped without a line in the summary. */
function schemaEvolutionLines(s: RunSummary): [string, string][] {
  const evolution = s.schemaEvolution;
  if (!evolution) return [];
  const lines: [string, string][] = [];
  if (evolution.added.length > 0)
    lines.push([
      'columns added',
      `${evolution.added.length} (schemaEvolution: evolve): ${evolution.added.join(', ')}`,
    ]);
  if (evolution.discarded.length > 0)
    lines.push([
      'columns not loaded',
      `${evolution.discarded.length} (schemaEvolution: discard): ${evolution.discarded.join(', ')}`,
    ]);
  return lines;
}

/** The end-of-run summary as a small table a person can read at a glance. */
export function formatSummary(s: RunSummary): string {
  const seconds = (s.durationMs ?? 0) / 1000;
  const rate = seconds > 0 ? Math.round(s.read / seconds) : s.read;
  const lines: [string, string][] = [
    ['pipeline', s.pipeline],
    ['run', s.runId],
    ['status', s.status],
    ['read', n(s.read)],
    ['loaded', n(s.loaded)],
    ['rejected', n(s.rejected)],
    [
      'filtered',
      `${n(s.filtered)} (${n(s.filteredByRule)} by filter rules, ${n(s.deduplicated)} duplicate keys)`,
    ],
    ['chunks', n(s.chunks)],
    ['sources skipped', `${n(s.skippedSources)} (already loaded)`],
    ['partitions', s.partitions.length ? s.partitions.join(', ') : '-'],
    ...schemaEvolutionLines(s),
    ['duration', `${seconds.toFixed(1)} s`],
    ['rows/s', n(rate)],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  const out = lines.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  if (s.topRejectReasons.length) {
    out.push('  top reject reasons:');
    for (const r of s.topRejectReasons) out.push(`    ${String(r.count).padStart(6)}  ${r.reason}`);
    if (s.rejectsLocation) out.push(`  rejected rows with reasons: ${s.rejectsLocation}`);
  }
  const check =
    s.read === s.loaded + s.rejected + s.filtered
      ? 'read = loaded + rejected + filtered ✓'
      : 'COUNTS DO NOT ADD UP';
  out.push(`  ${check}`);
  return out.join('\n');
}
