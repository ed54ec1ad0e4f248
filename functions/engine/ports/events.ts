// The run's outputs besides the warehouse: the RunSucceeded / RunFailed event sink and the logger.

/** The logging surface the engine needs; Powertools' Logger satisfies it, and so does a test double. */
export interface EngineLogger {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** Where RunSucceeded / RunFailed go: EventBridge in AWS, the run log locally. */
export interface RunEventSink {
  emit(detailType: 'RunSucceeded' | 'RunFailed', detail: Record<string, unknown>): Promise<void>;
}
