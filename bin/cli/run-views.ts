// How the read side looks on a terminal: the runs table, one run in full, rejects as text or CSV.
import type { RejectsPage, RunDetail, RunRecord } from '../../functions/engine/read-side/index.js';
import { withoutErrorName } from './failure.js';

const n = (v: number) => v.toLocaleString('en-US');
const seconds = (ms: number | undefined) => (ms === undefined ? '' : (ms / 1000).toFixed(1));
const when = (iso: string | undefined) => (iso ? iso.replace('T', ' ').slice(0, 19) : '');

/** Columns padded to their widest cell, two spaces apart. */
export function table(header: string[], rows: string[][], right: ReadonlySet<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/**
 * `sluice runs`: one line a run, its counts adding up (`read = loaded + rejected + filtered + dedup +
 * uncommitted`), then the full error of every unsuccessful run below the table.
 */
export function formatRunList(runs: RunRecord[]): string {
  const header = [
    'started',
    'pipeline',
    'run',
    'status',
    'read',
    'loaded',
    'rejected',
    'filtered',
    'dedup',
    'uncommitted',
    'seconds',
  ];
  const rows = runs.map((r) => [
    when(r.startedAt),
    r.pipeline,
    r.runId,
    r.status,
    n(r.counts.read),
    n(r.counts.loaded),
    n(r.counts.rejected),
    n(r.counts.filteredByRule),
    n(r.counts.deduplicated),
    n(r.counts.uncommitted),
    seconds(r.durationMs),
  ]);
  const out = [table(header, rows, new Set([4, 5, 6, 7, 8, 9, 10]))];
  const errors = runs.filter((r) => r.error);
  if (errors.length > 0) {
    out.push('', 'errors:');
    for (const r of errors)
      out.push(`  ${r.runId}  ${withoutErrorName(r.error!).replace(/\s*\n\s*/g, '; ')}`);
  }
  out.push(
    '',
    'read = loaded + rejected + filtered + dedup + uncommitted (staged by a run that did not commit)',
  );
  return out.join('\n');
}

/** The counts of one run as an equation that adds up. */
export function countsLine(r: RunRecord): string {
  const c = r.counts;
  const parts = [
    `loaded ${n(c.loaded)}`,
    `rejected ${n(c.rejected)}`,
    `filtered ${n(c.filteredByRule)}`,
    `duplicate keys ${n(c.deduplicated)}`,
  ];
  if (c.source === 'ledger') parts.push(`uncommitted ${n(c.uncommitted)}`);
  return `read ${n(c.read)} = ${parts.join(' + ')}`;
}

/** `sluice runs <id>`: the run, its phases, chunks, partitions, top reject reasons and events. */
export function formatRunDetail(d: RunDetail): string {
  const r = d.run;
  const fields: [string, string][] = [
    ['run', r.runId],
    ['pipeline', r.pipeline],
    ['status', r.status],
    ['spec', `version ${r.specVersion}, hash ${r.specHash}`],
    ['trigger', JSON.stringify(r.trigger)],
    ['full refresh', r.fullRefresh ? 'yes' : 'no'],
    ['started', when(r.startedAt)],
    ['finished', r.finishedAt ? when(r.finishedAt) : '(running)'],
    ['duration', r.durationMs === undefined ? '' : `${seconds(r.durationMs)} s`],
    ['counts', countsLine(r)],
    ['chunks', `${r.chunksLoaded} loaded of ${r.chunkCount ?? '?'} planned`],
    ['partitions', d.partitions.length ? d.partitions.join(', ') : '-'],
  ];
  if (r.error) fields.push(['error', withoutErrorName(r.error)]);
  const width = Math.max(...fields.map(([k]) => k.length));
  const out = fields.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  out.push('', 'phases:');
  out.push(
    indent(
      table(
        ['phase', 'started', 'seconds'],
        d.phases.map((p) => [p.name, when(p.startedAt), p.finishedAt ? seconds(p.durationMs) : '(running)']),
        new Set([2]),
      ),
    ),
  );
  out.push('', 'chunks:');
  out.push(
    d.chunks.length === 0
      ? '  (none loaded)'
      : indent(
          table(
            ['chunk', 'route', 'read', 'staged', 'rejected', 'filtered', 'bytes', 'seconds'],
            d.chunks.map((c) => [
              c.chunkId,
              c.route,
              n(c.read),
              n(c.staged),
              n(c.rejected),
              n(c.filtered),
              n(c.bytes),
              seconds(c.durationMs),
            ]),
            new Set([2, 3, 4, 5, 6, 7]),
          ),
        ),
  );
  if (d.topRejectReasons && d.topRejectReasons.length > 0) {
    out.push('', 'top reject reasons:');
    for (const t of d.topRejectReasons) out.push(`  ${String(t.count).padStart(6)}  ${t.reason}`);
  }
  if (d.rejectsLocation) out.push(`rejected rows: ${d.rejectsLocation} (sluice rejects ${r.runId})`);
  if (d.events) {
    out.push('', 'events:');
    for (const e of d.events)
      out.push(`  ${when(e.at)}  ${e.kind.padEnd(16)}  ${e.actor}  ${JSON.stringify(e.detail)}`);
  }
  for (const w of d.warnings) out.push(`warning: ${w}`);
  return out.join('\n');
}

/** `sluice rejects <run>`: location, column, reason, then the row as read. */
export function formatRejects(page: RejectsPage): string {
  const out = page.rows.map(
    (r) =>
      `${r.location}  ${r.column ?? '-'}  ${r.reason}\n    ${typeof r.row === 'string' ? r.row : JSON.stringify(r.row)}`,
  );
  const shown = page.rows.length < page.matched ? `, ${page.rows.length} shown (--limit)` : '';
  out.push(`${n(page.matched)} of ${n(page.total)} rejected row(s) match${shown}; files: ${page.location}`);
  return out.join('\n');
}

/** RFC 4180 CSV: chunk, location, column, reason, row (the row as JSON, or the raw text). */
export function rejectsCsv(page: RejectsPage): string {
  const cell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  const lines = ['chunk,location,column,reason,row'];
  for (const r of page.rows)
    lines.push(
      [
        r.chunk,
        r.location,
        r.column ?? '',
        r.reason,
        typeof r.row === 'string' ? r.row : JSON.stringify(r.row),
      ]
        .map(cell)
        .join(','),
    );
  return `${lines.join('\r\n')}\r\n`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
