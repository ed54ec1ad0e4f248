/**
 * Transient faults (a dropped connection, a server restarting, too many connections, a serialization
 * failure or a deadlock) are retried with bounded, jittered exponential backoff, but only around steps
 * whose protocol makes a replay safe: a chunk's load transaction (a chunk already in the ledger is a
 * no-op), the run's commit (an already committed run returns its recorded result), the prepare steps
 * (each idempotent for its run id) and marking a run failed. Anything else fails at once.
 */

/** How often and how long a step is retried. */
export interface RetryPolicy {
  /** Attempts in all, the first included. @default 8 */
  readonly maxAttempts: number;
  /** The first pause; it doubles on each retry. @default 250 */
  readonly baseDelayMs: number;
  /** No pause is longer. @default 8000 */
  readonly maxDelayMs: number;
  /** No retry starts once this long has passed since the first attempt. @default 60000 */
  readonly maxTotalMs: number;
}

/** About 20 s of pauses over 8 attempts: a server restart or an Aurora failover, not a long outage. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 250,
  maxDelayMs: 8000,
  maxTotalMs: 60_000,
};

/** SQLSTATEs a replay can cure (the rest are about the statement or the data, and would fail again). */
const TRANSIENT_SQLSTATES: Record<string, string> = {
  '57P01': 'the server shut the connection down (admin_shutdown)',
  '57P02': 'the server crashed (crash_shutdown)',
  '57P03': 'the server is not accepting connections yet (cannot_connect_now)',
  '53300': 'the server has too many connections (too_many_connections)',
  '40001': 'the transaction hit a serialization failure',
  '40P01': 'the transaction was chosen as a deadlock victim',
};

/** Socket errors (errno codes) and driver codes that mean the connection went away. */
const TRANSIENT_ERRNOS: Record<string, string> = {
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the connection was closed while writing to it',
  ECONNREFUSED: 'the connection was refused',
  ECONNABORTED: 'the connection was aborted',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  EAI_AGAIN: 'the host name could not be resolved for now',
  // mysql2 and undici (fetch) name a lost connection themselves.
  PROTOCOL_CONNECTION_LOST: 'the connection was lost',
  UND_ERR_SOCKET: 'the connection was closed',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
};

/** node-postgres says so in words, without a code. */
const TRANSIENT_MESSAGES: [RegExp, string][] = [
  [/Connection terminated/i, 'the connection was lost'],
  [/Client has encountered a connection error/i, 'the connection was lost'],
  [/timeout exceeded when trying to connect/i, 'no connection could be made in time'],
];

/**
 * Why `err` is transient (a short phrase for messages), or undefined when a replay would not help.
 * Looks through `cause` chains (adapters and connectors wrap driver errors) and AggregateErrors.
 *
 * @example transientReason(Object.assign(new Error('x'), { code: '40P01' }))
 *   // 'the transaction was chosen as a deadlock victim (40P01)'
 */
export function transientReason(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    // Retries already ran out below: never multiply them by retrying again above.
    if (e instanceof RetriesExhaustedError) return undefined;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      const reason =
        TRANSIENT_SQLSTATES[code] ??
        TRANSIENT_ERRNOS[code] ??
        (/^08[0-9A-Z]{3}$/.test(code) ? 'the connection failed' : undefined);
      if (reason) return `${reason} (${code})`;
    }
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string')
      for (const [pattern, reason] of TRANSIENT_MESSAGES) if (pattern.test(message)) return reason;
    queue.push((e as { cause?: unknown }).cause);
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return undefined;
}

/** True when a replay of the failed step may succeed (see transientReason). */
export function isTransientError(err: unknown): boolean {
  return transientReason(err) !== undefined;
}

/**
 * The pause before retry number `retry` (1 = the first retry): exponential, capped, with "equal
 * jitter" (half fixed, half random), so it is never zero and concurrent retriers spread out.
 */
export function backoffDelayMs(
  retry: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(cap / 2 + random() * (cap / 2));
}

/** A step that kept failing on transient errors until its policy ran out; `cause` is the last error. */
export class RetriesExhaustedError extends Error {
  constructor(
    readonly step: string,
    readonly attempts: number,
    elapsedMs: number,
    reason: string,
    cause: unknown,
  ) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      `${step} failed ${attempts} time(s) in ${(elapsedMs / 1000).toFixed(1)} s because ${reason}: ${detail}`,
      { cause },
    );
    this.name = 'RetriesExhaustedError';
  }
}

export interface RetryOptions {
  policy?: Partial<RetryPolicy>;
  /** Told about each retry (the run's log). */
  onRetry?: (info: { step: string; attempt: number; delayMs: number; reason: string; error: string }) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
}

/**
 * Runs `fn`, replaying it after a transient error (transientReason) with backoffDelayMs pauses, within
 * the policy. Only for steps that are safe to replay from the start. Non-transient errors pass through
 * untouched; when the policy runs out, RetriesExhaustedError says what failed, how often and why.
 *
 * @example await retryTransient('load chunk chunk-00003', () => loadIt(), { onRetry: log });
 */
export async function retryTransient<T>(
  step: string,
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.policy };
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const reason = transientReason(err);
      if (reason === undefined) throw err;
      const elapsed = now() - started;
      const delayMs = backoffDelayMs(attempt, policy, options.random);
      if (attempt >= policy.maxAttempts || elapsed + delayMs > policy.maxTotalMs)
        throw new RetriesExhaustedError(step, attempt, elapsed, reason, err);
      options.onRetry?.({
        step,
        attempt,
        delayMs,
        reason,
        error: err instanceof Error ? err.message : String(err),
      });
      await sleep(delayMs);
    }
  }
}

/**
 * retryTransient with the run's policy (`deps.retry`), each retry logged as a warning in the run's log.
 *
 * @example await retryStep(deps, `mark run ${runId} failed`, () => failRun(deps.warehouse, runId, error));
 */
export function retryStep<T>(
  deps: {
    logger: { warn(message: string, extra?: Record<string, unknown>): void };
    retry?: Partial<RetryPolicy>;
  },
  step: string,
  fn: (attempt: number) => Promise<T>,
): Promise<T> {
  return retryTransient(step, fn, {
    ...(deps.retry ? { policy: deps.retry } : {}),
    onRetry: (info) => deps.logger.warn('transient error; retrying', { ...info }),
  });
}
