import { compileRowValidator, type ValidationOutcome } from '../../../functions/engine/validate/index.js';

/** Validates one value in a single nullable column `v` of the given type. */
export function validateValue(type: string, value: unknown, nullable = true): ValidationOutcome {
  return compileRowValidator({ v: { type, nullable } })({ v: value });
}

/** The COPY text a value becomes, or the reason it is rejected. */
export function copyText(type: string, value: unknown): string | null {
  const outcome = validateValue(type, value);
  return outcome.ok ? outcome.values[0]! : `rejected: ${outcome.reason}`;
}
