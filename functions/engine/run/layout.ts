/** Where a run's files live in staging. Everything of a run is under one prefix, so redrive and cleanup are simple. */
export const stagingLayout = {
  runPrefix: (runId: string) => `runs/${runId}/`,
  spec: (runId: string) => `runs/${runId}/spec.json`,
  manifest: (runId: string) => `runs/${runId}/manifest.json`,
  lambdaItems: (runId: string) => `runs/${runId}/items-lambda.json`,
  fargateItems: (runId: string) => `runs/${runId}/items-fargate.json`,
  rejects: (runId: string, chunkId: string) => `runs/${runId}/rejects/${chunkId}.jsonl`,
  rejectReasons: (runId: string, chunkId: string) => `runs/${runId}/rejects/${chunkId}.reasons.json`,
  rejectsPrefix: (runId: string) => `runs/${runId}/rejects/`,
  summary: (runId: string) => `runs/${runId}/summary.json`,
  /** What a chunk's read reported (ReadContext.reportChunkState), written before its load commits. */
  chunkState: (runId: string, chunkId: string) => `runs/${runId}/chunk-states/${chunkId}.json`,
};
