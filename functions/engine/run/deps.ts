import type { FaultInjector } from '../load/index.js';
import type {
  AuditAnchor,
  ConnectorLookup,
  EngineLogger,
  RunEventSink,
  SecretStore,
  Storage,
  Warehouse,
} from '../ports/index.js';
import type { CopyFormat } from '../ports/sql.js';
import type { LoadedSpec } from '../spec/parse.js';
import type { ChunkCounts } from '../types.js';
import type { RetryPolicy } from './retry.js';

// The port types EngineDeps refers to, re-exported for the code that builds it (handlers, local runner).
export type { ConnectorLookup, EngineLogger, RunEventSink } from '../ports/index.js';

export interface ChunkProgress {
  runId: string;
  chunkId: string;
  status: 'loaded' | 'already-loaded';
  counts: ChunkCounts;
  bytes: number;
}

/**
 * Everything a run step touches, passed in: the engine reads no environment and creates no clients.
 * Handlers build it from the environment (AWS); the local runner builds it from the CLI options.
 */
export interface EngineDeps {
  staging: Storage;
  warehouse: Warehouse;
  secrets: SecretStore;
  /**
   * Reads a spec file a run starts from (YAML or JSON, every problem with its line). Only local runs
   * have spec files; runs in AWS start from the spec published to staging (s3://…/specs/…).
   */
  readSpecFile(file: string): Promise<LoadedSpec>;
  /** Opens source storage: a folder (relative paths resolve against baseDir) or s3://bucket/prefix. */
  openStorage(location: string, baseDir: string): Storage;
  /** The source connectors this build knows (functions/connectors/registry.ts). */
  connectors: ConnectorLookup;
  events: RunEventSink;
  logger: EngineLogger;
  /** Who holds the pipeline lock while this run is alive: the execution id in AWS, host+pid locally. */
  holder: string;
  /** Lets a new run take over from a holder that is known to be dead (a killed local process). */
  isHolderAlive?(holder: string): boolean;
  onChunkDone?(progress: ChunkProgress): void;
  /**
   * How far a CDC source's change stream is behind (its replication slot's lag, bytes), as Prepare read
   * it: the Prepare handler publishes it as the ReplicationSlotLagBytes metric.
   */
  onSourceLag?(lagBytes: number): void;
  /** Fault points for crash tests (the local runner's SLUICE_FAULT); absent in production. */
  faults?: FaultInjector;
  /**
   * Where the audit chain's head is anchored after each commit (a signed file locally, S3 under Object
   * Lock in AWS). Without it, nothing is anchored and `sluice audit verify` says so.
   */
  auditAnchor?: AuditAnchor;
  /** How transient database errors are retried (retry.ts). @default DEFAULT_RETRY_POLICY */
  retry?: Partial<RetryPolicy>;
  /**
   * How chunks COPY their rows into staging: `csv` always, or `binary` where every destination column
   * type has a binary form (validate/copy-binary.ts; less server CPU). @default 'binary'
   */
  copyFormat?: CopyFormat;
}
