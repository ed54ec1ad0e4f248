import { createHash } from 'node:crypto';
import type { Row, SourceRecord } from '../../sdk/index.js';
import { RecordColumns } from '../../sdk/record-columns.js';
import { defineSource, type PlannedChunk } from '../../sdk/source.js';
import { type HttpChunk, type HttpSourceConfig, httpSourceConfig } from './config.js';
import { fetchJson, type JsonPage, requestHeaders } from './fetch-json.js';

export { httpSourceConfig };

/**
 * HTTP JSON API source. Planning walks the pages once (page, offset, cursor or next-link pagination)
 * to find where each chunk of pages starts and the highest cursor value; each chunk then re-reads its
 * pages from its first URL. Incremental by a record field (optionally sent as a since-parameter):
 * a run loads records after the stored cursor up to the maximum seen at plan time.
 */
export default defineSource<HttpSourceConfig>({
  name: 'http',
  description: 'HTTP JSON API: page, offset, cursor or next-link pagination, retries on 429/5xx, incremental',
  configSchema: httpSourceConfig,
  cannotBackfill: (config) =>
    config.cursor
      ? undefined
      : 'a backfill window is a range of the cursor field: set source.config.cursor.field',

  async check(ctx) {
    const headers = await requestHeaders(ctx.config, ctx.credential);
    const page = await fetchJson(firstUrl(ctx.config, undefined), ctx.config, headers);
    recordsOf(page.body, ctx.config.recordPath, ctx.config.url);
  },

  /** The keys of the first page's records (an API has no catalog to ask). */
  async discover(ctx) {
    const headers = await requestHeaders(ctx.config, ctx.credential);
    const url = firstUrl(ctx.config, undefined);
    const page = await fetchJson(url, ctx.config, headers);
    const columns = new RecordColumns();
    for (const record of recordsOf(page.body, ctx.config.recordPath, url)) columns.add(record);
    return [{ name: ctx.config.url, columns: columns.list() }];
  },

  async plan(ctx) {
    const config = ctx.config;
    const headers = await requestHeaders(config, ctx.credential);
    const field = config.cursor?.field;
    const stored = field && !ctx.backfill && ctx.cursor?.field === field ? ctx.cursor.value : undefined;
    if (ctx.backfill && !field)
      throw new Error('--backfill needs an incremental source: set source.config.cursor.field');
    const since = ctx.backfill ? ctx.backfill.from : stored === undefined ? undefined : String(stored);
    const window = ctx.backfill
      ? { from: ctx.backfill.from, before: ctx.backfill.to }
      : stored === undefined
        ? {}
        : { after: String(stored) };

    const chunks: PlannedChunk[] = [];
    let max: unknown = stored;
    let current: { chunk: HttpChunk; bytes: number } | undefined;
    let matching = 0;
    // Planning reads every page anyway: the columns are those of all the records, not a sample.
    const columns = new RecordColumns();
    for await (const step of walkPages(firstUrl(config, since), config, headers, Number.POSITIVE_INFINITY)) {
      for (const record of step.records) columns.add(record);
      if (!current || current.chunk.pages === config.pagesPerChunk) {
        if (current) chunks.push({ bytes: current.bytes, source: { ...current.chunk } });
        current = {
          chunk: {
            url: step.url,
            pages: 0,
            ...(step.position === undefined ? {} : { position: step.position }),
          },
          bytes: 0,
        };
      }
      current.chunk.pages++;
      current.bytes += step.page.bytes;
      if (!field) continue;
      for (const record of step.records) {
        const value = valueAt(record, field);
        if (value === undefined || value === null || !inWindow(value, window)) continue;
        matching++;
        if (max === undefined || compareCursor(value, max) > 0) max = value;
      }
    }
    if (current) chunks.push({ bytes: current.bytes, source: { ...current.chunk } });
    const found = columns.list();
    const described = found.length > 0 ? { columns: found } : {};
    if (!field) return { chunks, units: [], skipped: 0, ...described };
    if (ctx.backfill) return { chunks: withWindow(chunks, window), units: [], skipped: 0, ...described };
    if (matching === 0)
      return { chunks: [], units: [], skipped: 0, ...(ctx.cursor ? { cursor: ctx.cursor } : {}) };
    return {
      chunks: withWindow(chunks, { ...window, upTo: String(max) }),
      units: [],
      skipped: 0,
      cursor: { field, value: max },
      ...described,
    };
  },

  async *read(chunk, ctx): AsyncGenerator<SourceRecord> {
    const config = ctx.config;
    const source = chunk.source as unknown as HttpChunk;
    const headers = await requestHeaders(config, ctx.credential);
    const field = config.cursor?.field;
    let pageNo = 0;
    for await (const step of walkPages(source.url, config, headers, source.pages, source.position)) {
      pageNo++;
      for (const [i, record] of step.records.entries()) {
        const location = `${step.url} record ${i + 1}`;
        if (record === null || typeof record !== 'object' || Array.isArray(record)) {
          yield {
            kind: 'unparseable',
            raw: JSON.stringify(record),
            location,
            reason: 'the record is not a JSON object',
          };
          continue;
        }
        if (field) {
          const value = valueAt(record, field);
          if (value === undefined || value === null || !inWindow(value, source)) continue;
        }
        yield { kind: 'row', row: record as Row, location };
      }
      if (pageNo >= source.pages) return;
    }
  },
});

interface PageStep {
  url: string;
  position?: number;
  page: JsonPage;
  records: unknown[];
}

/**
 * Follows the pagination from `url` for at most `limit` pages. Fails on a loop (a page pointing back
 * to one already read, or the same records again) and beyond maxPages.
 */
async function* walkPages(
  url: string,
  config: HttpSourceConfig,
  headers: Record<string, string>,
  limit: number,
  startPosition?: number,
): AsyncGenerator<PageStep> {
  const p = config.pagination;
  let next: string | undefined = url;
  let position = startPosition ?? (p.type === 'page' ? p.start : p.type === 'offset' ? 0 : undefined);
  const seen = new Set<string>();
  let previousHash: string | undefined;
  for (let n = 1; next !== undefined && n <= limit; n++) {
    if (n > config.maxPages)
      throw new Error(
        `pagination did not end after maxPages ${config.maxPages} pages (an endless loop?); last URL ${next}`,
      );
    seen.add(next);
    const page = await fetchJson(next, config, headers);
    const records = recordsOf(page.body, config.recordPath, next);
    const hash = createHash('sha256').update(JSON.stringify(records)).digest('hex');
    if (records.length > 0 && hash === previousHash)
      throw new Error(`pagination loops: ${next} returned the same records as the page before it`);
    previousHash = hash;
    yield { url: next, ...(position === undefined ? {} : { position }), page, records };

    let following: string | undefined;
    if (p.type === 'page') {
      const full = p.size === undefined ? records.length > 0 : records.length >= p.size;
      position = (position ?? p.start) + 1;
      following = full ? withParams(next, { [p.param]: String(position) }) : undefined;
    } else if (p.type === 'offset') {
      position = (position ?? 0) + p.limit;
      following = records.length >= p.limit ? withParams(next, { [p.param]: String(position) }) : undefined;
    } else if (p.type === 'cursor') {
      const token = valueAt(page.body, p.path);
      following =
        token === undefined || token === null || token === ''
          ? undefined
          : withParams(next, { [p.param]: String(token) });
    } else if (p.type === 'next-link') {
      const link = p.path ? valueAt(page.body, p.path) : page.nextLink;
      following = typeof link === 'string' && link !== '' ? new URL(link, next).toString() : undefined;
    }
    if (following !== undefined && seen.has(following))
      throw new Error(`pagination loops: ${next} points back to ${following}, which was already read`);
    next = following;
  }
}

function firstUrl(config: HttpSourceConfig, since: string | undefined): string {
  const p = config.pagination;
  const params: Record<string, string> = {};
  if (p.type === 'page') {
    params[p.param] = String(p.start);
    if (p.sizeParam && p.size) params[p.sizeParam] = String(p.size);
  }
  if (p.type === 'offset') {
    params[p.param] = '0';
    params[p.limitParam] = String(p.limit);
  }
  if (since !== undefined && config.cursor?.sinceParam) params[config.cursor.sinceParam] = since;
  return withParams(config.url, params);
}

function withParams(url: string, params: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

function recordsOf(body: unknown, path: string, url: string): unknown[] {
  const found = path === '' ? body : valueAt(body, path);
  if (!Array.isArray(found))
    throw new Error(
      `${url}: ${path === '' ? 'the body' : `recordPath "${path}"`} is ${found === undefined ? 'missing' : `not an array (${typeof found})`}`,
    );
  return found;
}

function valueAt(value: unknown, path: string): unknown {
  let at = value;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

function withWindow(chunks: PlannedChunk[], window: Partial<HttpChunk>): PlannedChunk[] {
  return chunks.map((c) => ({ bytes: c.bytes, source: { ...c.source, ...window } }));
}

function inWindow(value: unknown, w: Partial<HttpChunk>): boolean {
  if (w.after !== undefined && compareCursor(value, w.after) <= 0) return false;
  if (w.upTo !== undefined && compareCursor(value, w.upTo) > 0) return false;
  if (w.from !== undefined && compareCursor(value, w.from) < 0) return false;
  if (w.before !== undefined && compareCursor(value, w.before) >= 0) return false;
  return true;
}

/** Numbers as numbers, ISO timestamps as instants, anything else as text. */
export function compareCursor(a: unknown, b: unknown): number {
  const na = Number(a);
  const nb = Number(b);
  if (a !== '' && b !== '' && Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  const ta = Date.parse(String(a));
  const tb = Date.parse(String(b));
  if (!Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}
