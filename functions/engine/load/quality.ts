// Quality checks of a commit: the reject ratio (from the ledger) and the row limits (of the merge).
import type { PipelineSpec } from '../spec/schema.js';
import { QualityCheckError } from './errors.js';
import type { LedgerTotals } from './ledger.js';

export function checkRejectRatio(spec: PipelineSpec, ledger: LedgerTotals): void {
  const max = spec.quality.maxRejectRatio;
  const ratio = ledger.read === 0 ? 0 : ledger.rejected / ledger.read;
  if (ratio > max) {
    throw new QualityCheckError(
      'maxRejectRatio',
      ratio,
      max,
      `quality check failed: ${ledger.rejected} of ${ledger.read} rows rejected (${percent(ratio)}), more than quality.maxRejectRatio ${percent(max)}; nothing was loaded`,
    );
  }
}

export function checkRowLimits(spec: PipelineSpec, loaded: number): void {
  const { minRows, maxRows } = spec.quality;
  if (minRows !== undefined && loaded < minRows) {
    throw new QualityCheckError(
      'minRows',
      loaded,
      minRows,
      `quality check failed: ${loaded} rows to load, fewer than quality.minRows ${minRows}; nothing was loaded`,
    );
  }
  if (maxRows !== undefined && loaded > maxRows) {
    throw new QualityCheckError(
      'maxRows',
      loaded,
      maxRows,
      `quality check failed: ${loaded} rows to load, more than quality.maxRows ${maxRows}; nothing was loaded`,
    );
  }
}

function percent(ratio: number): string {
  return `${Number((ratio * 100).toFixed(2))}%`;
}
