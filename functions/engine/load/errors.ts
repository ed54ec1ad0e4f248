/** Errors of the load protocol. Each says what is wrong and, where there is one, what to do. */

/** Another run of the pipeline holds the lock and is alive. */
export class PipelineLockedError extends Error {
  constructor(
    readonly pipeline: string,
    readonly runningRunId: string,
    readonly holder: string,
    readonly since: Date,
    readonly leaseExpiresAt: Date,
  ) {
    super(
      `pipeline "${pipeline}" is locked by run ${runningRunId} (holder ${holder}) since ${since.toISOString()}; ` +
        `its lease runs until ${leaseExpiresAt.toISOString()}. Wait for it to finish, or stop it first.`,
    );
    this.name = 'PipelineLockedError';
  }
}

/** The target table exists but does not match the spec's destination. */
export class SchemaMismatchError extends Error {
  constructor(
    readonly table: string,
    readonly differences: string[],
    /** What to do, when there is a command for it (`sluice migrate <pipeline> --plan`). */
    hint = 'Change the spec to match the table.',
  ) {
    super(
      `table ${table} does not match the spec:\n${differences.map((d) => `  - ${d}`).join('\n')}\n${hint}`,
    );
    this.name = 'SchemaMismatchError';
  }
}

export type QualityCheck = 'maxRejectRatio' | 'minRows' | 'maxRows';

/** A quality gate of the spec failed; nothing of the run was merged. */
export class QualityCheckError extends Error {
  constructor(
    readonly check: QualityCheck,
    readonly actual: number,
    readonly limit: number,
    message: string,
  ) {
    super(message);
    this.name = 'QualityCheckError';
  }
}

/** The run is not in a state that allows the operation (e.g. loading into a failed run). */
export class RunStateError extends Error {
  constructor(
    readonly runId: string,
    readonly status: string | undefined,
    action: string,
  ) {
    super(
      status === undefined
        ? `cannot ${action}: run ${runId} does not exist`
        : `cannot ${action}: run ${runId} is ${status}, not running`,
    );
    this.name = 'RunStateError';
  }
}

/** Commit was asked for before every planned chunk was loaded. */
export class IncompleteRunError extends Error {
  constructor(
    readonly runId: string,
    readonly loadedChunks: number,
    readonly expectedChunks: number,
  ) {
    const diff = expectedChunks - loadedChunks;
    super(
      diff > 0
        ? `run ${runId} cannot commit: ${diff} of ${expectedChunks} chunks are not loaded (${loadedChunks} are)`
        : `run ${runId} cannot commit: the ledger has ${loadedChunks} chunks but the plan has ${expectedChunks}`,
    );
    this.name = 'IncompleteRunError';
  }
}

/** A staged file does not hold the rows its counts promise: it is corrupt or truncated. */
export class StagedChunkMismatchError extends Error {
  constructor(
    readonly runId: string,
    readonly chunkId: string,
    readonly copied: number,
    readonly expected: number,
  ) {
    super(
      `chunk ${chunkId} of run ${runId}: the staged file holds ${copied} rows but its counts say ${expected} staged; ` +
        'the staged file is corrupt or truncated (nothing was loaded; reprocess the chunk)',
    );
    this.name = 'StagedChunkMismatchError';
  }
}

/** Append mode met a key that is already in the target table. */
export class DuplicateKeyError extends Error {
  constructor(
    readonly table: string,
    detail: string | undefined,
    options?: ErrorOptions,
  ) {
    super(
      `append into ${table} hit a key that is already in the table${detail ? ` (${detail.replace(/\.$/, '')})` : ''}; ` +
        'nothing was loaded. Use mode upsert to update existing keys, or replace-partitions to reload whole partitions.',
      options,
    );
    this.name = 'DuplicateKeyError';
  }
}

/** The data would create more partitions than one run may create: usually a wrong date column or format. */
export class PartitionLimitError extends Error {
  constructor(
    readonly table: string,
    readonly wanted: number,
    readonly limit: number,
    readonly first: string,
    readonly last: string,
  ) {
    super(
      `loading into ${table} would create ${wanted} new partitions (${first} … ${last}), more than the ${limit} one run may create; ` +
        'check the partition column and its date format',
    );
    this.name = 'PartitionLimitError';
  }
}
