import { describe, expect, it } from 'vitest';
import { copyText, validateValue } from './validate-one.js';

describe('text columns', () => {
  it('keeps strings, and writes numbers, booleans and objects as text', () => {
    expect(copyText('text', 'héllo, "world"\n')).toBe('héllo, "world"\n');
    expect(copyText('text', 4.5)).toBe('4.5');
    expect(copyText('text', true)).toBe('true');
    expect(copyText('text', { a: [1, 'x'] })).toBe('{"a":[1,"x"]}');
  });

  it('keeps an empty string as an empty string, not NULL', () => {
    expect(validateValue('text', '')).toEqual({ ok: true, values: [''] });
    expect(validateValue('varchar(3)', '')).toEqual({ ok: true, values: [''] });
  });
});

describe('varchar columns', () => {
  it('accepts up to n characters, counting code points rather than UTF-16 units', () => {
    expect(copyText('varchar(5)', 'héllo')).toBe('héllo');
    expect(copyText('varchar(2)', '👋👋')).toBe('👋👋');
  });

  it('rejects a longer value, saying how long it is', () => {
    expect(copyText('varchar(5)', 'hello!')).toBe(
      'rejected: value "hello!" is 6 characters, longer than varchar(5) allows',
    );
    expect(copyText('varchar(1)', '👋👋')).toMatch(/is 2 characters, longer than varchar\(1\) allows$/);
  });
});

describe('uuid columns', () => {
  it('accepts the canonical form and writes it lower-case', () => {
    expect(copyText('uuid', '123E4567-E89B-12D3-A456-426614174000')).toBe(
      '123e4567-e89b-12d3-a456-426614174000',
    );
  });

  it('rejects other forms', () => {
    for (const value of [
      '123e4567e89b12d3a456426614174000',
      '{123e4567-e89b-12d3-a456-426614174000}',
      'nope',
    ]) {
      expect(copyText('uuid', value)).toMatch(/is not a valid uuid \(8-4-4-4-12 hex digits\)$/);
    }
  });
});

describe('jsonb columns', () => {
  it('writes objects, arrays, numbers and booleans as JSON', () => {
    expect(copyText('jsonb', { a: { b: [1, null] } })).toBe('{"a":{"b":[1,null]}}');
    expect(copyText('jsonb', [1, 2])).toBe('[1,2]');
    expect(copyText('jsonb', 3)).toBe('3');
    expect(copyText('jsonb', false)).toBe('false');
  });

  it('passes JSON text on as written, so big numbers keep their digits', () => {
    expect(copyText('jsonb', '{"id": 12345678901234567890}')).toBe('{"id": 12345678901234567890}');
  });

  it('rejects text that is not JSON', () => {
    expect(copyText('jsonb', '{"a": ')).toBe('rejected: value "{\\"a\\": " is not valid JSON');
  });

  it('rejects escapes PostgreSQL refuses inside jsonb', () => {
    expect(copyText('jsonb', { a: 'x\u0000y' })).toBe('rejected: contains a NUL byte');
    expect(copyText('jsonb', '"\\u0000"')).toBe('rejected: contains a NUL byte');
    expect(copyText('jsonb', '"\\ud83d"')).toBe('rejected: contains an unpaired UTF-16 surrogate escape');
    expect(copyText('jsonb', { a: '\ud83d' })).toBe('rejected: contains an unpaired UTF-16 surrogate escape');
  });

  it('accepts escaped backslashes and paired surrogates', () => {
    expect(copyText('jsonb', '"\\\\u0000"')).toBe('"\\\\u0000"');
    expect(copyText('jsonb', '"\\ud83d\\udc4b"')).toBe('"\\ud83d\\udc4b"');
  });
});
