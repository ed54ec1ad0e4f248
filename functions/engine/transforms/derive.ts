import { assertSafeColumnName } from './errors.js';
import { compileRowExpression, expressionErrorMessage } from './expression.js';
import { RowRejection, type RowStep } from './step.js';

/**
 * `derive: {col: expression}`: sets each column to its expression's value, in the order written, so a
 * later expression sees an earlier result. A row on which an expression fails, or gives NaN or
 * ±Infinity (e.g. division by zero), is rejected naming the column.
 * @example derive: { total: "round(price * qty, 2)" }
 */
export function compileDerive(expressions: Readonly<Record<string, string>>, path: string): RowStep {
  const derived = Object.entries(expressions).map(([column, source]) => {
    assertSafeColumnName(column, `${path}.${column}`);
    return {
      column,
      evaluate: compileRowExpression(source, `${path}.${column}`),
      quoted: JSON.stringify(source),
    };
  });
  return (row) => {
    for (const { column, evaluate, quoted } of derived) {
      const value = evaluate(row);
      if (value instanceof Error) {
        return new RowRejection(`expression ${quoted} failed: ${expressionErrorMessage(value)}`, column);
      }
      if (typeof value === 'number' && !Number.isFinite(value)) {
        return new RowRejection(
          `expression ${quoted} gave ${value}${Number.isNaN(value) ? '' : ' (division by zero?)'}`,
          column,
        );
      }
      row[column] = value ?? null;
    }
    return row;
  };
}
