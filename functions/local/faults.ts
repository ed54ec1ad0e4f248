import { existsSync } from 'node:fs';
import { FAULT_POINTS, type FaultInjector, type FaultPoint } from '../engine/load/index.js';

/**
 * What happens at a fault point:
 * - `fail`: throw once (the state machine's Retry absorbs it, as a transient Lambda error would be);
 * - `fail-always`: throw on every hit from the nth on (retries run out, Catch → MarkFailed: the run fails);
 * - `die`: end the process at once with exit code 137, as a SIGKILL'd Lambda or laptop would;
 * - `delay`: pause there, to hold a run open while a test races it: until the file SLUICE_FAULT_RELEASE_FILE
 *   exists when it is set, at most SLUICE_FAULT_DELAY_MS (default 3000 ms).
 */
export type FaultAction = 'fail' | 'fail-always' | 'die' | 'delay';

export interface FaultRule {
  point: FaultPoint;
  action: FaultAction;
  /** Fires on the nth hit of the point (1-based). @default 1 */
  nth: number;
}

/** The error a `fail` fault throws: named so a log reader knows it was injected. */
export class InjectedFaultError extends Error {
  constructor(point: FaultPoint, context: Record<string, unknown>) {
    super(`injected fault at ${point} ${JSON.stringify(context)}`);
    this.name = 'InjectedFaultError';
  }
}

/**
 * Parses `SLUICE_FAULT`: `<point>:<action>[:<nth>]`, several separated by commas.
 *
 * @example parseFaultSpec('before-chunk-load:die:2')  // die just before the second chunk loads
 * @throws Error naming the known points and actions when the text is not one of them.
 */
export function parseFaultSpec(text: string): FaultRule[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((part) => {
      const [point, action, nth, ...rest] = part.split(':');
      if (!FAULT_POINTS.includes(point as FaultPoint) || rest.length > 0)
        throw new Error(
          `SLUICE_FAULT: unknown fault point in ${JSON.stringify(part)}; expected <point>:<action>[:<nth>] with point one of ${FAULT_POINTS.join(', ')}`,
        );
      if (action !== 'fail' && action !== 'fail-always' && action !== 'die' && action !== 'delay')
        throw new Error(
          `SLUICE_FAULT: unknown action ${JSON.stringify(action)} in ${JSON.stringify(part)}; expected fail, fail-always, die or delay`,
        );
      const n = nth === undefined ? 1 : Number(nth);
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`SLUICE_FAULT: nth must be a positive whole number in ${JSON.stringify(part)}`);
      return { point: point as FaultPoint, action, nth: n };
    });
}

export interface LocalFaultInjector extends FaultInjector {
  /** Every fault that fired, in order: what a test asserts happened. */
  readonly fired: { point: FaultPoint; action: FaultAction; context: Record<string, unknown> }[];
  /** Hits per point so far. */
  readonly hits: Map<FaultPoint, number>;
}

/**
 * A fault injector from rules. `onDie` defaults to `process.exit(137)`; a test can replace it, and can
 * pass `onHit` to do something at a point (rotate a secret, start a second run) instead of failing.
 */
export function createFaultInjector(
  rules: FaultRule[],
  options: {
    onDie?: () => never;
    /** How long `delay` pauses at most. @default 3000 */
    delayMs?: number;
    /** `delay` ends early once this file exists. */
    releaseFile?: string;
    onHit?: (point: FaultPoint, context: Record<string, unknown>, nth: number) => Promise<void> | void;
  } = {},
): LocalFaultInjector {
  const hits = new Map<FaultPoint, number>();
  const fired: LocalFaultInjector['fired'] = [];
  const die = options.onDie ?? (() => process.exit(137));
  return {
    hits,
    fired,
    async hit(point, context) {
      const n = (hits.get(point) ?? 0) + 1;
      hits.set(point, n);
      await options.onHit?.(point, context, n);
      for (const rule of rules) {
        if (rule.point !== point) continue;
        const fires = rule.action === 'fail-always' ? n >= rule.nth : n === rule.nth;
        if (!fires) continue;
        fired.push({ point, action: rule.action, context });
        if (rule.action === 'delay') {
          const until = Date.now() + (options.delayMs ?? 3000);
          while (Date.now() < until && !(options.releaseFile && existsSync(options.releaseFile)))
            await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
        if (rule.action === 'die') {
          // Straight to stderr: a logger might buffer, and the process has no later chance.
          process.stderr.write(`sluice: injected fault: dying at ${point} ${JSON.stringify(context)}\n`);
          die();
        }
        throw new InjectedFaultError(point, context);
      }
    },
  };
}

/** The injector the `SLUICE_FAULT` variable asks for, or undefined when it is unset or empty. */
export function faultInjectorFromEnv(env: NodeJS.ProcessEnv = process.env): LocalFaultInjector | undefined {
  const text = env.SLUICE_FAULT?.trim();
  if (!text) return undefined;
  const delayMs = Number(env.SLUICE_FAULT_DELAY_MS ?? 3000);
  return createFaultInjector(parseFaultSpec(text), {
    delayMs: Number.isFinite(delayMs) ? delayMs : 3000,
    ...(env.SLUICE_FAULT_RELEASE_FILE ? { releaseFile: env.SLUICE_FAULT_RELEASE_FILE } : {}),
  });
}
