/**
 * The test helper as an HTTP service: OONI's oohelperd protocol at `POST /` and at
 * `POST /api/v1/websiteconnectivity`, so OONI probes can use it and our probe can use OONI's.
 */
import { isBogon } from '@pharos/core';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { addressFreeLogger } from '../log-options.js';
import { measureControl } from './measure.js';
import { resolveHelperTimeouts, type TestHelperOptions } from './options.js';
import { controlRequestSchema, describeIssues } from './schema.js';

const DEFAULT_BODY_LIMIT = 64 * 1024;
export const CONTROL_PATHS = ['/', '/api/v1/websiteconnectivity'] as const;

/** Returns the helper, not yet listening: call `listen()` (or `inject()` in tests). */
export function createTestHelperServer(options: TestHelperOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: addressFreeLogger(options.logger),
    // Behind a proxy the client address would come from X-Forwarded-For; we never want it.
    trustProxy: false,
    ...(options.https ? { https: { key: options.https.key, cert: options.https.cert } } : {}),
  }) as unknown as FastifyInstance;
  app.register(testHelperRoutes(options));
  return app;
}

/**
 * The helper's routes as a plugin, for a server that also does other things (`pharos serve`).
 * Its error handler and body limit apply to these routes only.
 */
export function testHelperRoutes(options: TestHelperOptions = {}): FastifyPluginAsync {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const ctx = {
    resolver: options.resolver,
    extraCA: options.extraCA,
    timeouts: resolveHelperTimeouts(options.timeouts),
    isBogon: options.isBogon ?? isBogon,
  };
  return async (app) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const status =
        error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) request.log.error({ err: error }, 'control request failed');
      return reply
        .code(status)
        .send({ error: status === 500 ? 'internal error while measuring' : error.message });
    });

    for (const path of CONTROL_PATHS) {
      app.post(path, { bodyLimit }, async (request, reply) => {
        const parsed = controlRequestSchema.safeParse(request.body);
        if (!parsed.success) {
          return reply.code(400).send({ error: `invalid control request: ${describeIssues(parsed.error)}` });
        }
        return reply.send(await measureControl(parsed.data, ctx));
      });
    }
  };
}
