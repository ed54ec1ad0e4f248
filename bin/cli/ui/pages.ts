// The console's pages, rendered on the server from the read side; hono/html escapes every interpolated value.
import { html, raw } from 'hono/html';
import type { RunRecord } from '../../../functions/engine/load/index.js';
import type {
  ChunkRecord,
  PartitionStats,
  PipelineOverview,
  RunEvent,
  TableRef,
} from '../../../functions/engine/read-side/console-queries.js';
import type { RejectFilter, RejectPage } from '../../../functions/engine/read-side/reject-files.js';
import { ago, bytes, duration, type Html, n, page, statusBadge, when } from './layout.js';

/** A run's counts: the ledger's totals once it committed, else the sums of the chunks it loaded. */
export interface RunCounts {
  read: number;
  loaded: number;
  rejected: number;
  filtered: number;
  deduplicated: number;
  /** 'run' when the commit recorded them; 'chunks' for a run that never committed (nothing visible). */
  from: 'run' | 'chunks';
}

export function runCounts(run: RunRecord, chunks: ChunkRecord[]): RunCounts {
  if (run.read !== undefined && run.loaded !== undefined)
    return {
      read: run.read,
      loaded: run.loaded,
      rejected: run.rejected ?? 0,
      filtered: run.filtered ?? 0,
      deduplicated: run.deduplicated ?? 0,
      from: 'run',
    };
  const sum = (f: (c: ChunkRecord) => number) => chunks.reduce((s, c) => s + f(c), 0);
  return {
    read: sum((c) => c.read),
    loaded: 0,
    rejected: sum((c) => c.rejected),
    filtered: sum((c) => c.filtered),
    deduplicated: 0,
    from: 'chunks',
  };
}

const runLink = (runId: string) => html`<a href="/runs/${runId}">${runId.slice(0, 8)}</a>`;
const runMs = (r: RunRecord) =>
  r.finishedAt ? Date.parse(r.finishedAt) - Date.parse(r.startedAt) : undefined;

export function pipelinesPage(
  pipelines: PipelineOverview[],
  schedules: Map<string, string>,
  now: number,
): Html {
  if (pipelines.length === 0)
    return page(
      'Pipelines',
      html`<p>No runs in this database yet. Run one with <code>npx sluice run &lt;pipeline&gt;</code>.</p>`,
    );
  return page(
    'Pipelines',
    html`<table>
<caption>Every pipeline with a run in the ledger</caption>
<thead><tr><th scope="col">Pipeline</th><th scope="col">Last run</th><th scope="col">Status</th>
<th scope="col">Started</th><th scope="col">Fresh as of (last success)</th><th scope="col">Schedule</th>
<th scope="col" class="num">Runs</th></tr></thead>
<tbody>
${pipelines.map(
  (p) => html`<tr data-pipeline="${p.pipeline}">
<th scope="row"><a href="/pipelines/${p.pipeline}">${p.pipeline}</a></th>
<td>${runLink(p.lastRunId)}</td>
<td>${statusBadge(p.lastStatus)}${p.lockedBy ? html` <span class="muted">(locked by ${p.lockedBy.slice(0, 8)})</span>` : ''}</td>
<td>${when(p.lastStartedAt)}</td>
<td>${ago(p.lastSucceededAt, now)}${p.lastSucceededAt ? html` <span class="muted">(${when(p.lastSucceededAt)})</span>` : ''}</td>
<td>${schedules.get(p.pipeline) ?? 'none (manual or on upload)'}</td>
<td class="num">${n(p.runs)}</td>
</tr>`,
)}
</tbody></table>`,
  );
}

export function runHistoryPage(pipeline: string, runs: RunRecord[]): Html {
  const oldestFirst = [...runs].reverse();
  const series = {
    t: oldestFirst.map((r) => Math.round(Date.parse(r.startedAt) / 1000)),
    loaded: oldestFirst.map((r) => r.loaded ?? null),
    seconds: oldestFirst.map((r) => {
      const ms = runMs(r);
      return ms === undefined ? null : ms / 1000;
    }),
    rejectRatio: oldestFirst.map((r) => (r.read ? (r.rejected ?? 0) / r.read : null)),
  };
  // JSON in a non-executed script element; `<` escaped so no value can close the element.
  const data = JSON.stringify(series).replaceAll('<', '\\u003c');
  return page(
    `Run history: ${pipeline}`,
    html`<section aria-labelledby="plots"><h2 id="plots">Over time (last ${runs.length} runs)</h2>
<div class="charts">
<figure class="chart" id="chart-loaded" aria-label="Rows loaded per run"><h3>Rows loaded per run</h3></figure>
<figure class="chart" id="chart-seconds" aria-label="Duration per run in seconds"><h3>Duration (s)</h3></figure>
<figure class="chart" id="chart-rejects" aria-label="Reject ratio per run"><h3>Reject ratio (rejected / read)</h3></figure>
</div>
<script type="application/json" id="history-data">${raw(data)}</script>
</section>
<section aria-labelledby="runs"><h2 id="runs">Runs</h2>
<table><caption>Newest first</caption>
<thead><tr><th scope="col">Run</th><th scope="col">Status</th><th scope="col">Started</th>
<th scope="col" class="num">Read</th><th scope="col" class="num">Loaded</th><th scope="col" class="num">Rejected</th>
<th scope="col" class="num">Filtered</th><th scope="col" class="num">Deduplicated</th><th scope="col" class="num">Duration</th>
<th scope="col">Error</th></tr></thead>
<tbody>
${runs.map(
  (
    r,
  ) => html`<tr data-run="${r.runId}"><td>${runLink(r.runId)}</td><td>${statusBadge(r.status)}</td><td>${when(r.startedAt)}</td>
<td class="num">${n(r.read)}</td><td class="num">${n(r.loaded)}</td><td class="num">${n(r.rejected)}</td>
<td class="num">${n(r.filtered)}</td><td class="num">${n(r.deduplicated)}</td><td class="num">${duration(runMs(r))}</td>
<td>${r.error ?? ''}</td></tr>`,
)}
</tbody></table></section>`,
    { scripts: ['/assets/uplot.js', '/assets/console.js'] },
  );
}

export function runPage(
  run: RunRecord,
  chunks: ChunkRecord[],
  events: RunEvent[],
  rejects: Pick<RejectPage, 'total' | 'columns' | 'location'>,
): Html {
  const c = runCounts(run, chunks);
  const addsUp = c.read === c.loaded + c.rejected + c.filtered + c.deduplicated;
  const staged = chunks.reduce((s, x) => s + x.staged, 0);
  const count = (key: string, label: string, value: number) =>
    html`<div><dt>${label}</dt><dd data-count="${key}">${n(value)}</dd></div>`;
  return page(
    `Run ${run.runId}`,
    html`<p>${statusBadge(run.status)} pipeline <a href="/pipelines/${run.pipeline}">${run.pipeline}</a>,
spec version ${run.specVersion} (<code>${run.specHash.slice(0, 12)}</code>)${run.fullRefresh ? ', full refresh' : ''}</p>
${run.error ? html`<p class="error" role="alert">${run.error}</p>` : ''}
<section aria-labelledby="counts"><h2 id="counts">Counts</h2>
${c.from === 'chunks' ? html`<p class="muted">This run did not commit: nothing it read is visible in the table. Counts are the sums of the ${chunks.length} chunk(s) it staged (${n(staged)} rows staged).</p>` : ''}
<dl class="counts">
${count('read', 'read', c.read)}${count('loaded', 'loaded', c.loaded)}${count('rejected', 'rejected', c.rejected)}
${count('filtered', 'filtered', c.filtered)}${count('deduplicated', 'deduplicated', c.deduplicated)}
</dl>
${
  c.from === 'run'
    ? html`<p class="check ${addsUp ? 'ok' : 'bad'}" data-adds-up="${String(addsUp)}">read = loaded + rejected + filtered + deduplicated ${addsUp ? '✓' : '✗ (the ledger does not add up)'}</p>`
    : html`<p class="check ok" data-adds-up="${String(c.read === staged + c.rejected + c.filtered)}">read = staged + rejected + filtered ${c.read === staged + c.rejected + c.filtered ? '✓' : '✗'}</p>`
}
<p><a href="/runs/${run.runId}/rejects" id="rejects-link">${n(rejects.total)} rejected row(s): browse them</a>
<span class="muted">(files: ${rejects.location})</span></p>
</section>
<section aria-labelledby="timing"><h2 id="timing">Timing</h2>
<table><caption>Phases</caption><tbody>
<tr><th scope="row">started</th><td>${when(run.startedAt)}</td></tr>
<tr><th scope="row">planned</th><td>${when(run.plannedAt)} <span class="muted">(${duration(run.plannedAt ? Date.parse(run.plannedAt) - Date.parse(run.startedAt) : undefined)} planning)</span></td></tr>
<tr><th scope="row">finished</th><td>${when(run.finishedAt)} <span class="muted">(${duration(run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : undefined)} in all)</span></td></tr>
</tbody></table></section>
<section aria-labelledby="chunks"><h2 id="chunks">Chunks (${chunks.length} loaded of ${run.chunkCount ?? '?'} planned)</h2>
${timeline(run, chunks)}
<table><caption>In load order</caption>
<thead><tr><th scope="col">Chunk</th><th scope="col">Route</th><th scope="col" class="num">Read</th><th scope="col" class="num">Staged</th>
<th scope="col" class="num">Rejected</th><th scope="col" class="num">Filtered</th><th scope="col" class="num">Bytes</th><th scope="col">Loaded at</th></tr></thead>
<tbody>${chunks.map(
      (
        k,
      ) => html`<tr><th scope="row">${k.chunkId}</th><td>${k.route}</td><td class="num">${n(k.read)}</td><td class="num">${n(k.staged)}</td>
<td class="num">${k.rejected ? html`<a href="/runs/${run.runId}/rejects?chunk=${k.chunkId}">${n(k.rejected)}</a>` : '0'}</td>
<td class="num">${n(k.filtered)}</td><td class="num">${bytes(k.bytes)}</td><td>${when(k.loadedAt)}</td></tr>`,
    )}</tbody></table></section>
<section aria-labelledby="partitions"><h2 id="partitions">Partitions touched</h2>
${run.partitions.length ? html`<ul>${run.partitions.map((p) => html`<li>${p}</li>`)}</ul>` : html`<p>none</p>`}
</section>
<section aria-labelledby="events"><h2 id="events">Events (audit trail)</h2>
<table><thead><tr><th scope="col">#</th><th scope="col">At</th><th scope="col">Kind</th><th scope="col">Actor</th><th scope="col">Detail</th></tr></thead>
<tbody>${events.map(
      (e) =>
        html`<tr><td>${e.seq}</td><td>${when(e.at)}</td><td>${e.kind}</td><td>${e.actor}</td><td><pre>${e.detail}</pre></td></tr>`,
    )}</tbody></table></section>`,
  );
}

/** Each chunk as a bar from the end of planning to when its load committed: the run's shape at a glance. */
function timeline(run: RunRecord, chunks: ChunkRecord[]): Html {
  if (chunks.length === 0) return html`<p>No chunk was loaded.</p>`;
  const start = Date.parse(run.plannedAt ?? run.startedAt);
  const end = Math.max(...chunks.map((c) => Date.parse(c.loadedAt)), start + 1);
  const width = 640;
  const row = 16;
  const x = (t: number) => 110 + ((t - start) / (end - start)) * (width - 120);
  return html`<svg class="timeline" role="img" aria-labelledby="timeline-title" width="${width}" height="${chunks.length * row + 24}" viewBox="0 0 ${width} ${chunks.length * row + 24}">
<title id="timeline-title">Chunk timeline: when each chunk's load committed, ${duration(end - start)} after planning</title>
${chunks.map((c, i) => {
  const t = Date.parse(c.loadedAt);
  return html`<text x="0" y="${i * row + 12}">${c.chunkId}</text><rect class="bar${c.rejected ? ' rej' : ''}" x="110" y="${i * row + 2}" width="${Math.max(2, x(t) - 110).toFixed(1)}" height="${row - 4}"><title>${c.chunkId}: ${n(c.read)} read, committed ${duration(t - start)} after planning</title></rect>`;
})}
<text x="110" y="${chunks.length * row + 18}">0 s</text><text x="${width - 60}" y="${chunks.length * row + 18}">${duration(end - start)}</text>
</svg>`;
}

export function rejectsPage(run: RunRecord, result: RejectPage, filter: RejectFilter): Html {
  return page(
    `Rejected rows of run ${run.runId.slice(0, 8)}`,
    html`<p>Pipeline <a href="/pipelines/${run.pipeline}">${run.pipeline}</a>, run ${runLink(run.runId)}:
<strong data-count="matched">${n(result.matched)}</strong> of <span data-count="total">${n(result.total)}</span> rejected row(s) match${result.matched > result.rejects.length ? html`, the first ${result.rejects.length} shown` : ''}.
<span class="muted">Files: ${result.location}</span></p>
<form class="filter" method="get" action="/runs/${run.runId}/rejects" role="search" aria-label="Filter rejects">
<label for="f-column">Column
<select id="f-column" name="column"><option value="">any column</option>
${result.columns.map((c) => html`<option value="${c.column}"${c.column === filter.column ? html` selected` : ''}>${c.column} (${c.count})</option>`)}
</select></label>
<label for="f-reason">Reason contains<input id="f-reason" name="reason" value="${filter.reason ?? ''}"></label>
<button type="submit">Filter</button>
</form>
<table><caption>Rejected rows with where they came from and why</caption>
<thead><tr><th scope="col">Source (file:line)</th><th scope="col">Chunk</th><th scope="col">Column</th><th scope="col">Reason</th><th scope="col">Raw row</th></tr></thead>
<tbody>${result.rejects.map(
      (
        r,
      ) => html`<tr class="reject"><td>${r.location ?? '–'}</td><td>${r.chunk}</td><td>${r.column ?? '(row)'}</td><td class="reason">${r.reason}</td>
<td><pre class="raw">${r.row === undefined ? '' : JSON.stringify(r.row, null, 1)}</pre></td></tr>`,
    )}</tbody></table>`,
  );
}

export function tablesPage(tables: TableRef[]): Html {
  return page(
    'Tables',
    tables.length
      ? html`<table><caption>Target tables Sluice created or verified</caption>
<thead><tr><th scope="col">Table</th><th scope="col">Loaded by</th></tr></thead>
<tbody>${tables.map(
          (
            t,
          ) => html`<tr><th scope="row"><a href="/tables/${t.schema}/${t.table}">${t.schema}.${t.table}</a></th>
<td><a href="/pipelines/${t.pipeline}">${t.pipeline}</a></td></tr>`,
        )}</tbody></table>`
      : html`<p>No target table yet.</p>`,
  );
}

export function tablePage(ref: { schema: string; table: string }, partitions: PartitionStats[]): Html {
  const rows = partitions.reduce((s, p) => s + p.rows, 0);
  const size = partitions.reduce((s, p) => s + p.bytes, 0);
  return page(
    `Table ${ref.schema}.${ref.table}`,
    html`<p><span data-count="rows">${n(rows)}</span> row(s) in ${partitions.length} partition(s), ${bytes(size)} on disk.</p>
<table><caption>Partitions, exact row counts and sizes (table, indexes and TOAST)</caption>
<thead><tr><th scope="col">Partition</th><th scope="col">Bounds</th><th scope="col" class="num">Rows</th><th scope="col" class="num">Size</th></tr></thead>
<tbody>${partitions.map(
      (
        p,
      ) => html`<tr data-partition="${p.name}"><th scope="row">${p.name}</th><td><code>${p.bound}</code></td>
<td class="num">${n(p.rows)}</td><td class="num">${bytes(p.bytes)}</td></tr>`,
    )}</tbody></table>`,
  );
}

export function notFoundPage(what: string): Html {
  return page('Not found', html`<p>${what}</p><p><a href="/">Back to the pipelines</a></p>`);
}
