// `sluice init`: the refusal it raises for a source it cannot describe honestly.

/** A source init will not write a spec for, with what was wrong and what to do. */
export class InitRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InitRefusal';
  }
}
