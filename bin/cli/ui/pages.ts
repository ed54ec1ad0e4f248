// The console's pages, rendered on the server from the read side; hono/html escapes every interpolated value.
import { html, raw } from 'hono/html';
import type {
  ChunkRecord,
  PipelineOverview,
  RejectFilter,
  RejectsPage,
  RunDetail,
  RunRecord,
} from '../../../functions/engine/read-side/index.js';
import { WHOLE_ROW } from '../../../functions/engine/read-side/reject-columns.js';
import type { PartitionStats, TableRef } from '../../../functions/engine/read-side/tables.js';
import { ago, bytes, duration, type Html, n, page, statusBadge, when } from './layout.js';

const runLink = (runId: string) => html`<a href="/runs/${runId}">${runId.slice(0, 8)}</a>`;

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
<td>${runLink(p.lastRun.runId)}</td>
<td>${statusBadge(p.lastRun.status)}</td>
<td>${when(p.lastRun.startedAt)}</td>
<td>${ago(p.lastSucceededAt, now)}${p.lastSucceededAt ? html` <span class="muted">(${when(p.lastSucceededAt)})</span>` : ''}</td>
<td>${schedules.get(p.pipeline) ?? 'no spec in pipelines/'}</td>
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
    loaded: oldestFirst.map((r) => r.counts.loaded),
    seconds: oldestFirst.map((r) => (r.durationMs === undefined ? null : r.durationMs / 1000)),
    rejectRatio: oldestFirst.map((r) => (r.counts.read ? r.counts.rejected / r.counts.read : null)),
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
<table><caption>Newest first. A run that did not commit loaded nothing: its counts are its chunks' so far.</caption>
<thead><tr><th scope="col">Run</th><th scope="col">Status</th><th scope="col">Started</th>
<th scope="col" class="num">Read</th><th scope="col" class="num">Loaded</th><th scope="col" class="num">Rejected</th>
<th scope="col" class="num">Filtered</th><th scope="col" class="num">Not committed</th><th scope="col" class="num">Duration</th>
<th scope="col">Error</th></tr></thead>
<tbody>
${runs.map(
  (
    r,
  ) => html`<tr data-run="${r.runId}"><td>${runLink(r.runId)}</td><td>${statusBadge(r.status)}</td><td>${when(r.startedAt)}</td>
<td class="num">${n(r.counts.read)}</td><td class="num">${n(r.counts.loaded)}</td><td class="num">${n(r.counts.rejected)}</td>
<td class="num">${n(r.counts.filtered)}</td><td class="num">${n(r.counts.uncommitted)}</td><td class="num">${duration(r.durationMs)}</td>
<td>${r.error ?? ''}</td></tr>`,
)}
</tbody></table></section>`,
    { scripts: ['/assets/uplot.js', '/assets/console.js'] },
  );
}

export function runPage(detail: RunDetail): Html {
  const { run, chunks, phases } = detail;
  const c = run.counts;
  const addsUp = c.read === c.loaded + c.rejected + c.filtered + c.uncommitted;
  const count = (key: string, label: string, value: number, note?: string) =>
    html`<div><dt>${label}</dt><dd data-count="${key}">${n(value)}</dd>${note ? html`<dd class="muted">${note}</dd>` : ''}</div>`;
  return page(
    `Run ${run.runId}`,
    html`<p>${statusBadge(run.status)} pipeline <a href="/pipelines/${run.pipeline}">${run.pipeline}</a>,
spec version ${run.specVersion} (<code>${run.specHash.slice(0, 12)}</code>)${run.fullRefresh ? ', full refresh' : ''}</p>
${run.error ? html`<p class="error" role="alert">${run.error}</p>` : ''}
${detail.warnings.map((w) => html`<p class="muted">${w}</p>`)}
<section aria-labelledby="counts"><h2 id="counts">Counts</h2>
${c.source === 'ledger' ? html`<p class="muted">This run did not commit: nothing it read is visible in the table. Its counts are those of the ${chunks.length} chunk(s) it staged.</p>` : ''}
<dl class="counts">
${count('read', 'read', c.read)}${count('loaded', 'loaded', c.loaded)}${count('rejected', 'rejected', c.rejected)}
${count('filtered', 'filtered', c.filtered, `${n(c.filteredByRule)} by rules, ${n(c.deduplicated)} duplicate keys`)}
${count('uncommitted', 'staged, not committed', c.uncommitted)}
</dl>
<p class="check ${addsUp ? 'ok' : 'bad'}" data-adds-up="${String(addsUp)}">read = loaded + rejected + filtered + not committed ${addsUp ? '✓' : '✗ (the ledger does not add up)'}</p>
${
  detail.topRejectReasons?.length
    ? html`<table><caption>Top reject reasons</caption><thead><tr><th scope="col" class="num">Rows</th><th scope="col">Reason</th></tr></thead>
<tbody>${detail.topRejectReasons.map((r) => html`<tr><td class="num">${n(r.count)}</td><td>${r.reason}</td></tr>`)}</tbody></table>`
    : ''
}
<p><a href="/runs/${run.runId}/rejects" id="rejects-link">Browse the ${n(c.rejected)} rejected row(s)</a>
${detail.rejectsLocation ? html`<span class="muted">(files: ${detail.rejectsLocation})</span>` : ''}</p>
</section>
<section aria-labelledby="timing"><h2 id="timing">Phases</h2>
<table><thead><tr><th scope="col">Phase</th><th scope="col">Started</th><th scope="col">Finished</th><th scope="col" class="num">Duration</th></tr></thead>
<tbody>${phases.map(
      (p) =>
        html`<tr><th scope="row">${p.name}</th><td>${when(p.startedAt)}</td><td>${when(p.finishedAt)}</td><td class="num">${duration(p.durationMs)}</td></tr>`,
    )}</tbody></table>
<p class="muted">Started ${when(run.startedAt)}, finished ${when(run.finishedAt)}: ${duration(run.durationMs)} in all.</p></section>
<section aria-labelledby="chunks"><h2 id="chunks">Chunks (${chunks.length} loaded of ${run.chunkCount ?? '?'} planned)</h2>
${timeline(run, chunks)}
<table><caption>In plan order</caption>
<thead><tr><th scope="col">Chunk</th><th scope="col">Route</th><th scope="col" class="num">Read</th><th scope="col" class="num">Staged</th>
<th scope="col" class="num">Rejected</th><th scope="col" class="num">Filtered</th><th scope="col" class="num">Bytes</th><th scope="col" class="num">Load took</th></tr></thead>
<tbody>${chunks.map(
      (
        k,
      ) => html`<tr><th scope="row">${k.chunkId}</th><td>${k.route}</td><td class="num">${n(k.read)}</td><td class="num">${n(k.staged)}</td>
<td class="num">${n(k.rejected)}</td><td class="num">${n(k.filtered)}</td><td class="num">${bytes(k.bytes)}</td><td class="num">${duration(k.durationMs)}</td></tr>`,
    )}</tbody></table></section>
<section aria-labelledby="partitions"><h2 id="partitions">Partitions touched</h2>
${detail.partitions.length ? html`<ul>${detail.partitions.map((p) => html`<li>${p}</li>`)}</ul>` : html`<p>none</p>`}
</section>
<section aria-labelledby="events"><h2 id="events">Events (audit trail)</h2>
${
  detail.events
    ? html`<table><thead><tr><th scope="col">#</th><th scope="col">At</th><th scope="col">Kind</th><th scope="col">Actor</th><th scope="col">Detail</th></tr></thead>
<tbody>${detail.events.map(
        (e) =>
          html`<tr><td>${e.seq}</td><td>${when(e.at)}</td><td>${e.kind}</td><td>${e.actor}</td><td><pre>${JSON.stringify(e.detail)}</pre></td></tr>`,
      )}</tbody></table>`
    : html`<p>Not readable with this login.</p>`
}</section>`,
  );
}

/** Each chunk's load as a bar on the run's clock (from the end of planning): the run's shape at a glance. */
function timeline(run: RunRecord, chunks: ChunkRecord[]): Html {
  const timed = chunks.filter((c) => c.startedAt && c.finishedAt);
  if (timed.length === 0) return html`<p>No chunk load with timings.</p>`;
  const start = Math.min(
    Date.parse(run.plannedAt ?? run.startedAt),
    ...timed.map((c) => Date.parse(c.startedAt!)),
  );
  const end = Math.max(...timed.map((c) => Date.parse(c.finishedAt!)), start + 1);
  const width = 640;
  const row = 16;
  const x = (t: number) => 110 + ((t - start) / (end - start)) * (width - 120);
  const height = timed.length * row + 24;
  return html`<svg class="timeline" role="img" aria-labelledby="timeline-title" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<title id="timeline-title">Chunk timeline: each chunk's load from start to commit, over ${duration(end - start)} after planning</title>
${timed.map((c, i) => {
  const [s, f] = [Date.parse(c.startedAt!), Date.parse(c.finishedAt!)];
  return html`<text x="0" y="${i * row + 12}">${c.chunkId}</text><rect class="bar${c.rejected ? ' rej' : ''}" x="${x(s).toFixed(1)}" y="${i * row + 2}" width="${Math.max(2, x(f) - x(s)).toFixed(1)}" height="${row - 4}"><title>${c.chunkId}: ${n(c.read)} read, ${n(c.rejected)} rejected, load took ${duration(f - s)}</title></rect>`;
})}
<text x="110" y="${timed.length * row + 18}">0 s</text><text x="${width - 60}" y="${timed.length * row + 18}">${duration(end - start)}</text>
</svg>`;
}

export function rejectsPage(
  run: RunRecord,
  result: RejectsPage,
  columns: { column: string; count: number }[],
  filter: RejectFilter,
): Html {
  return page(
    `Rejected rows of run ${run.runId.slice(0, 8)}`,
    html`<p>Pipeline <a href="/pipelines/${run.pipeline}">${run.pipeline}</a>, run ${runLink(run.runId)}:
<strong data-count="matched">${n(result.matched)}</strong> of <span data-count="total">${n(result.total)}</span> rejected row(s) match${result.matched > result.rows.length ? html`, the first ${result.rows.length} shown` : ''}.
<span class="muted">Files: ${result.location}</span></p>
<form class="filter" method="get" action="/runs/${run.runId}/rejects" role="search" aria-label="Filter rejects">
<label for="f-column">Column
<select id="f-column" name="column"><option value="">any column</option>
${columns.map((c) =>
  c.column === WHOLE_ROW
    ? html`<option disabled>whole row (${c.count}): filter by reason</option>`
    : html`<option value="${c.column}"${c.column === filter.column ? html` selected` : ''}>${c.column} (${c.count})</option>`,
)}
</select></label>
<label for="f-reason">Reason contains<input id="f-reason" name="reason" value="${filter.reason ?? ''}"></label>
<button type="submit">Filter</button>
</form>
<table><caption>Rejected rows with where they came from and why</caption>
<thead><tr><th scope="col">Source (file:line)</th><th scope="col">Chunk</th><th scope="col">Column</th><th scope="col">Reason</th><th scope="col">Raw row</th></tr></thead>
<tbody>${result.rows.map(
      (
        r,
      ) => html`<tr class="reject"><td>${r.location}</td><td>${r.chunk}</td><td>${r.column ?? WHOLE_ROW}</td><td class="reason">${r.reason}</td>
<td><pre class="raw">${typeof r.row === 'string' ? r.row : JSON.stringify(r.row, null, 1)}</pre></td></tr>`,
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
