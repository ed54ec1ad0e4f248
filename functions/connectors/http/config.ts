import * as z from 'zod';

const pagination = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({
    type: z.literal('page'),
    /** Query parameter carrying the page number. */
    param: z.string().min(1).default('page'),
    start: z.number().int().min(0).default(1),
    /** Query parameter and value for the page size, when the API takes one. */
    sizeParam: z.string().min(1).optional(),
    size: z.number().int().min(1).optional(),
  }),
  z.strictObject({
    type: z.literal('offset'),
    param: z.string().min(1).default('offset'),
    limitParam: z.string().min(1).default('limit'),
    limit: z.number().int().min(1).default(100),
  }),
  z.strictObject({
    type: z.literal('cursor'),
    /** Query parameter the next request carries the cursor in. */
    param: z.string().min(1).default('cursor'),
    /** Dot path of the next cursor in the response body; absent, null or '' ends the pages. */
    path: z.string().min(1),
  }),
  z.strictObject({
    type: z.literal('next-link'),
    /** Dot path of the next page's URL in the body. @default the Link header's rel="next" */
    path: z.string().min(1).optional(),
  }),
]);

const auth = z.discriminatedUnion('type', [
  /** `Authorization: Bearer <credential token>`. */
  z.strictObject({ type: z.literal('bearer') }),
  /** `Authorization: Basic` from credentials `username` and `password`. */
  z.strictObject({ type: z.literal('basic') }),
  /** The credential `apiKey` in a header. */
  z.strictObject({ type: z.literal('api-key'), header: z.string().min(1).default('X-API-Key') }),
]);

export const httpSourceConfig = z.strictObject({
  /** The first page's URL (http or https), query parameters included. */
  url: z.url({ protocol: /^https?$/ }),
  /** Extra request headers (no secrets: use auth). */
  headers: z.record(z.string(), z.string()).default({}),
  /** Dot path of the records array in each response (`data.items`); empty: the body is the array. */
  recordPath: z.string().default(''),
  pagination: pagination.default({ type: 'none' }),
  auth: auth.optional(),
  /** Incremental: records whose cursor field passed the last run's maximum. */
  cursor: z
    .strictObject({
      /** Dot path of the cursor in a record (`updated_at`, `id`). */
      field: z.string().min(1),
      /** Send the stored cursor as this query parameter, so the API filters (`since`, `updated_after`). */
      sinceParam: z.string().min(1).optional(),
    })
    .optional(),
  /** Pages read by one chunk. */
  pagesPerChunk: z.number().int().min(1).max(10_000).default(10),
  /** Pagination that goes on longer than this fails the run (an endless loop). */
  maxPages: z.number().int().min(1).default(10_000),
  /** Retries of one request on 429, 5xx and network errors (Retry-After is honoured). */
  maxRetries: z.number().int().min(0).max(20).default(6),
  /** First backoff pause; doubles on each retry, with jitter, at most maxBackoffSeconds. */
  backoffSeconds: z.number().min(0).default(0.5),
  maxBackoffSeconds: z.number().min(0).default(60),
  timeoutSeconds: z.number().min(1).default(30),
});
export type HttpSourceConfig = z.infer<typeof httpSourceConfig>;

/** A chunk: start at `url` and read `pages` pages, following the pagination; records up to `upTo`. */
export interface HttpChunk {
  url: string;
  pages: number;
  /** First page number / offset of the chunk (page and offset pagination). */
  position?: number;
  after?: string;
  upTo?: string;
  from?: string;
  before?: string;
}
