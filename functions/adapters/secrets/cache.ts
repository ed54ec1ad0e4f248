import type { SecretStore } from '../../engine/ports/secrets.js';

export interface CachedSecretStoreProps {
  /** How long a value is reused before the store is asked again. @default 60000 (one minute) */
  readonly ttlMs?: number;
  /** @default - Date.now */
  readonly now?: () => number;
}

/**
 * Keeps secret values in memory briefly, so a run does not call Secrets Manager per connection, and
 * forgets one on demand: after an authentication failure the caller invalidates and reads again, which
 * is how a secret rotated in the middle of a run is picked up without failing it. The only secret
 * cache: the stores it wraps (Secrets Manager, the local file, env) read on every get.
 * Concurrent readers of one name share one read (the cache holds the promise).
 */
export class CachedSecretStore implements SecretStore {
  private readonly values = new Map<string, { value: Promise<string>; at: number }>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: SecretStore,
    props: CachedSecretStoreProps = {},
  ) {
    this.ttlMs = props.ttlMs ?? 60_000;
    this.now = props.now ?? Date.now;
  }

  get(name: string): Promise<string> {
    const hit = this.values.get(name);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value;
    const value = this.store.get(name);
    this.values.set(name, { value, at: this.now() });
    // A failed read is not cached: the next caller asks again.
    value.catch(() => {
      if (this.values.get(name)?.value === value) this.values.delete(name);
    });
    return value;
  }

  /** Drops the cached value (or all of them), so the next get reads the store. */
  invalidate(name?: string): void {
    if (name === undefined) this.values.clear();
    else this.values.delete(name);
  }
}
