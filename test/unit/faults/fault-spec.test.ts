import { describe, expect, it } from 'vitest';
import { CachedSecretStore } from '../../../functions/adapters/secrets/cache.js';
import {
  auditRecordHash,
  auditRecordText,
  canonicalJson,
  GENESIS_HASH,
} from '../../../functions/engine/audit/log.js';
import {
  createFaultInjector,
  faultInjectorFromEnv,
  parseFaultSpec,
} from '../../../functions/local/faults.js';

describe('SLUICE_FAULT', () => {
  it('parses point, action and nth, several separated by commas', () => {
    expect(parseFaultSpec('before-chunk-load:die:2, inside-run-commit:fail')).toEqual([
      { point: 'before-chunk-load', action: 'die', nth: 2 },
      { point: 'inside-run-commit', action: 'fail', nth: 1 },
    ]);
  });

  it.each([
    ['after-lunch:fail', 'unknown fault point in "after-lunch:fail"'],
    ['mid-map:explode', 'unknown action "explode"'],
    ['mid-map:fail:0', 'nth must be a positive whole number'],
    ['mid-map:fail:2:3', 'unknown fault point'],
  ])('fails when it reads %s', (text, message) => {
    expect(() => parseFaultSpec(text)).toThrow(message);
  });

  it('is off when the variable is unset or empty', () => {
    expect(faultInjectorFromEnv({})).toBeUndefined();
    expect(faultInjectorFromEnv({ SLUICE_FAULT: ' ' })).toBeUndefined();
  });

  it('fails once on the nth hit only, or on every hit from the nth with fail-always', async () => {
    const once = createFaultInjector(parseFaultSpec('after-chunk-commit:fail:2'));
    await once.hit('after-chunk-commit', {});
    await expect(once.hit('after-chunk-commit', { chunkId: 'c2' })).rejects.toThrow(
      'injected fault at after-chunk-commit {"chunkId":"c2"}',
    );
    await once.hit('after-chunk-commit', {});
    const always = createFaultInjector(parseFaultSpec('mid-map:fail-always:2'));
    await always.hit('mid-map', {});
    await expect(always.hit('mid-map', {})).rejects.toThrow(/injected fault/);
    await expect(always.hit('mid-map', {})).rejects.toThrow(/injected fault/);
    expect(always.fired).toHaveLength(2);
  });

  it('dies through onDie at a die point', async () => {
    const faults = createFaultInjector(parseFaultSpec('inside-run-commit:die'), {
      onDie: () => {
        throw new Error('died');
      },
    });
    await expect(faults.hit('inside-run-commit', { runId: 'r' })).rejects.toThrow('died');
  });
});

describe('the audit record hash', () => {
  const record = {
    seq: 1,
    at: '2026-01-01T00:00:00.000Z',
    kind: 'run.started',
    pipeline: 'orders',
    runId: null,
    actor: 'sluice_loader',
    detail: canonicalJson({ b: 2, a: { d: 1, c: [3, { f: 1, e: 2 }] } }),
  };

  it('covers each field unambiguously, null differently from empty', () => {
    expect(record.detail).toBe('{"a":{"c":[3,{"e":2,"f":1}],"d":1},"b":2}');
    expect(auditRecordText({ ...record, pipeline: '' })).not.toBe(
      auditRecordText({ ...record, pipeline: null }),
    );
    expect(auditRecordText({ ...record, kind: 'ab', pipeline: 'c' })).not.toBe(
      auditRecordText({ ...record, kind: 'a', pipeline: 'bc' }),
    );
  });

  it('changes when any field or the previous hash changes', () => {
    const hash = auditRecordHash(GENESIS_HASH, record);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(auditRecordHash(GENESIS_HASH, { ...record, detail: '{}' })).not.toBe(hash);
    expect(auditRecordHash('1'.repeat(64), record)).not.toBe(hash);
  });
});

describe('CachedSecretStore', () => {
  it('reuses a value within its TTL and reads again after invalidate or expiry', async () => {
    let reads = 0;
    let now = 0;
    const cache = new CachedSecretStore({ get: async () => `v${++reads}` }, { ttlMs: 1000, now: () => now });
    expect(await cache.get('db')).toBe('v1');
    expect(await cache.get('db')).toBe('v1');
    cache.invalidate('db');
    expect(await cache.get('db')).toBe('v2');
    now = 1001;
    expect(await cache.get('db')).toBe('v3');
  });
});
