/**
 * `POST /api/v1/measurements` as a Fastify plugin (docs/evidence-log.md, "Submission").
 *
 * The body is read raw (a JSON parser of its own, scoped to this plugin), decompressed with a cap,
 * checked item by item, and answered 200 only once the store has durably appended the whole batch.
 * Errors are the client's (4xx with a reason) unless the store fails (500, nothing promised).
 * The client address is read once, for the in-memory derivation and scrubbing; it is never logged
 * (logs get a fixed error tag, never a client-supplied message).
 */
import type { FastifyError, FastifyInstance, FastifyPluginAsync } from 'fastify';
import { decodeBody, parseContentEncoding } from './body.js';
import { SubmissionError } from './errors.js';
import { LazyIPLocator, type NetworkOrigin } from './geo.js';
import { type CollectorOptions, resolveCollectorOptions } from './options.js';
import { KeyRateLimiter } from './rate-limit.js';
import { KeyCache } from './signature.js';
import type { MeasurementSink } from './store.js';
import { prepareBatch } from './submission.js';
import { VerifyThreads } from './verify-threads.js';

export const MEASUREMENTS_PATH = '/api/v1/measurements';

export interface CollectorPluginOptions {
  store: MeasurementSink;
  options?: Partial<CollectorOptions>;
  /** Where addresses are looked up; default: the ip-location-db datasets, loaded on first use. */
  locator?: { lookup(ip: string): Promise<NetworkOrigin> | NetworkOrigin };
}

export interface SubmissionResponse {
  results: { id: string; log_index: number; duplicate: boolean }[];
}

/** The collector's routes. Register with `app.register(collectorRoutes({ store }))`. */
export function collectorRoutes(plugin: CollectorPluginOptions): FastifyPluginAsync {
  const options = resolveCollectorOptions(plugin.options);
  return async (app: FastifyInstance) => {
    const locator =
      plugin.locator ??
      new LazyIPLocator(undefined, ({ ms, error }) => {
        if (error)
          app.log.warn({ err: error }, 'IP datasets could not be loaded: networks derive as unknown');
        else app.log.info({ ms: Math.round(ms) }, 'IP datasets loaded');
      });
    const verifier = options.verifyThreads > 0 ? new VerifyThreads(options.verifyThreads) : undefined;
    if (verifier) app.addHook('onClose', () => verifier.close());
    const ctx = {
      options,
      keys: new KeyCache(),
      limiter: new KeyRateLimiter(options.rateLimit.perSecond, options.rateLimit.burst),
      locate: async (ip: string) => locator.lookup(ip),
      verifier,
    };
    let pendingBytes = 0;

    // This scope's own JSON parser: raw bytes, because they may be compressed and the route decides.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: options.bodyLimit },
      (_req, body, done) => done(null, body),
    );

    app.setErrorHandler((error: FastifyError | SubmissionError, request, reply) => {
      if (error instanceof SubmissionError) {
        request.log.info({ refused: error.kind, status: error.status }, 'submission refused');
        return reply.code(error.status).headers(error.headers).send({ error: error.message });
      }
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500) {
        request.log.info({ refused: error.code ?? 'request', status }, 'submission refused');
        return reply.code(status).send({ error: fastifyMessage(error, options) });
      }
      request.log.error({ err: error }, 'submission failed');
      return reply.code(500).send({
        error:
          'the batch could not be stored because of a server error: retry later (a retry is safe, a measurement already stored is recognised)',
      });
    });

    app.post(
      MEASUREMENTS_PATH,
      {
        // Before the body is read: a body in an unsupported encoding is refused unread.
        preParsing: async (request, _reply, payload) => {
          parseContentEncoding(request.headers['content-encoding']);
          return payload;
        },
      },
      async (request): Promise<SubmissionResponse> => {
        const receivedAt = new Date();
        const encoding = parseContentEncoding(request.headers['content-encoding']);
        const raw = request.body;
        if (!Buffer.isBuffer(raw)) {
          throw new SubmissionError(
            415,
            'json',
            'send the batch as JSON with Content-Type: application/json',
          );
        }
        // Memory in flight is bounded before anything is inflated: the raw body is reserved now,
        // and decompression may not go past what is left of the budget (503, not 413, if it would).
        const budget = options.maxPendingBytes - pendingBytes;
        if (pendingBytes > 0 && budget < raw.length) throw busy();
        let reserved = raw.length;
        pendingBytes += reserved;
        try {
          const limit = Math.min(options.maxDecompressedBytes, Math.max(budget, raw.length));
          let body: Buffer;
          try {
            body = await decodeBody(raw, encoding, limit);
          } catch (err) {
            if (
              err instanceof SubmissionError &&
              err.status === 413 &&
              limit < options.maxDecompressedBytes
            ) {
              throw busy();
            }
            throw err;
          }
          pendingBytes += body.length - reserved;
          reserved = body.length;
          if (body.length === 0) throw new SubmissionError(400, 'json', 'body is empty: send a JSON batch');
          const batch = await prepareBatch(body, request.ip, receivedAt, ctx);
          const results = await plugin.store.append(batch);
          return {
            results: results.map((r) => ({ id: r.id, log_index: r.log_index, duplicate: r.duplicate })),
          };
        } finally {
          pendingBytes -= reserved;
        }
      },
    );
  };
}

function busy(): SubmissionError {
  return new SubmissionError(503, 'busy', 'the collector is busy: retry in a few seconds', {
    'retry-after': '2',
  });
}

function fastifyMessage(error: FastifyError, options: CollectorOptions): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `body is larger than ${options.bodyLimit} bytes: send smaller batches`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'send the batch as JSON with Content-Type: application/json';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'body is empty: send a JSON batch';
    default:
      return error.message;
  }
}
