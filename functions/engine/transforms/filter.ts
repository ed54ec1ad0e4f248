import { BOOLEAN_WORDS } from '../validate/boolean.js';
import { compileRowExpression, expressionErrorMessage } from './expression.js';
import { FILTERED, RowRejection, type RowStep } from './step.js';

/**
 * `filter: expression`: keeps the row when the expression is true, filters it out otherwise. A string
 * result that spells a boolean ("false", "no", "0", ...) counts as that boolean; null and '' as false;
 * other values by JavaScript truthiness. A row on which the expression fails is rejected.
 * @example filter: 'status != "cancelled" and amount > 0'
 */
export function compileFilter(source: string, path: string): RowStep {
  const evaluate = compileRowExpression(source, path);
  const failed = `filter ${JSON.stringify(source)} failed: `;
  return (row) => {
    const result = evaluate(row);
    if (result === true) return row;
    if (result instanceof Error) return new RowRejection(failed + expressionErrorMessage(result));
    return isTrue(result) ? row : FILTERED;
  };
}

function isTrue(result: unknown): boolean {
  if (typeof result === 'string') return BOOLEAN_WORDS.get(result.trim().toLowerCase()) ?? result !== '';
  return Boolean(result);
}
