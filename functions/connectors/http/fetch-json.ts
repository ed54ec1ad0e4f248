import { setTimeout as sleep } from 'node:timers/promises';
import type { CredentialResolver } from '../../sdk/source.js';
import type { HttpSourceConfig } from './config.js';

export interface JsonPage {
  body: unknown;
  bytes: number;
  /** The Link header's rel="next", resolved against the request URL. */
  nextLink?: string;
}

/** Builds the request headers: the config's, then auth from credentials (never logged). */
export async function requestHeaders(config: HttpSourceConfig, credential: CredentialResolver) {
  const headers: Record<string, string> = { accept: 'application/json', ...config.headers };
  const auth = config.auth;
  if (auth?.type === 'bearer') headers.authorization = `Bearer ${await credential('token')}`;
  if (auth?.type === 'basic') {
    const basic = Buffer.from(`${await credential('username')}:${await credential('password')}`).toString(
      'base64',
    );
    headers.authorization = `Basic ${basic}`;
  }
  if (auth?.type === 'api-key') headers[auth.header.toLowerCase()] = await credential('apiKey');
  return headers;
}

/**
 * GETs a JSON page with retries: 429 and 5xx (and network errors) back off exponentially with jitter,
 * or exactly as long as Retry-After says. Anything that is not JSON fails naming the URL and what came.
 */
export async function fetchJson(
  url: string,
  config: HttpSourceConfig,
  headers: Record<string, string>,
): Promise<JsonPage> {
  let attempt = 0;
  for (;;) {
    let response: Response;
    try {
      response = await fetch(url, { headers, signal: AbortSignal.timeout(config.timeoutSeconds * 1000) });
    } catch (err) {
      if (attempt >= config.maxRetries)
        throw new Error(`GET ${redact(url)} failed after ${attempt + 1} attempt(s): ${describe(err)}`, {
          cause: err,
        });
      await sleep(backoff(config, attempt++));
      continue;
    }
    if (response.status === 429 || response.status >= 500) {
      await response.body?.cancel();
      if (attempt >= config.maxRetries)
        throw new Error(
          `GET ${redact(url)} answered ${response.status} ${response.statusText} ${attempt + 1} time(s); giving up`,
        );
      const wait = retryAfter(response.headers.get('retry-after'));
      await sleep(wait ?? backoff(config, attempt));
      attempt++;
      continue;
    }
    const text = await response.text();
    if (!response.ok)
      throw new Error(
        `GET ${redact(url)} answered ${response.status} ${response.statusText}: ${preview(text)}`,
      );
    const type = response.headers.get('content-type') ?? '';
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`GET ${redact(url)} returned ${type || 'a body'} that is not JSON: ${preview(text)}`);
    }
    const link = parseNextLink(response.headers.get('link'), url);
    return { body, bytes: Buffer.byteLength(text), ...(link ? { nextLink: link } : {}) };
  }
}

function backoff(config: HttpSourceConfig, attempt: number): number {
  const base = config.backoffSeconds * 1000 * 2 ** attempt;
  return Math.min(config.maxBackoffSeconds * 1000, base * (0.5 + Math.random() / 2));
}

/** Retry-After: seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** `<https://…?page=2>; rel="next", <…>; rel="last"` → the next URL. */
export function parseNextLink(header: string | null, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /<([^>]*)>\s*;(.*)/.exec(part.trim());
    if (m && /rel="?([^";]*\s)?next(\s[^";]*)?"?/.test(m[2]!)) return new URL(m[1]!, base).toString();
  }
  return undefined;
}

function preview(text: string): string {
  const title = /<title>([^<]*)<\/title>/i.exec(text)?.[1];
  const flat = (title ? `HTML page "${title.trim()}"` : text).replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 120)}…` : flat || '(empty body)';
}

/** URLs go into messages without their query values that look like secrets. */
function redact(url: string): string {
  const u = new URL(url);
  for (const key of [...u.searchParams.keys()])
    if (/key|token|secret|password|signature/i.test(key)) u.searchParams.set(key, '***');
  return u.toString();
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  return err instanceof Error ? err.message : String(err);
}
