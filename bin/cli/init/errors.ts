// `sluice init`: the refusal it raises for a source it cannot describe honestly, and the names behind some.

/** Names a spec refuses as keys anywhere (functions/engine/spec/parse.ts): no transform can name such a column. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** A source init will not write a spec for, with what was wrong and what to do. */
export class InitRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InitRefusal';
  }
}
