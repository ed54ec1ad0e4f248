// How the engine reads a chunk: a batch of records at a time, whatever the connector offers.
import type { ReadContext, SourceConnector } from '../ports/source.js';
import type { ChunkDescriptor, SourceRecord } from '../types.js';

/** Records gathered into one batch when a connector offers only `read`. */
const READ_BATCH_RECORDS = 512;

/**
 * A chunk's records a batch at a time: the connector's `readBatches` when it has one, else its `read`
 * gathered into arrays of up to 512 records. Either way every record comes out once, in order.
 */
export async function* recordBatches<C>(
  connector: SourceConnector<C>,
  chunk: ChunkDescriptor,
  ctx: ReadContext<C>,
): AsyncGenerator<readonly SourceRecord[]> {
  if (connector.readBatches) {
    yield* connector.readBatches(chunk, ctx);
    return;
  }
  let batch: SourceRecord[] = [];
  for await (const record of connector.read(chunk, ctx)) {
    batch.push(record);
    if (batch.length >= READ_BATCH_RECORDS) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
