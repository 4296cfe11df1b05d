/**
 * Fastify logger options that never carry a client's address (DESIGN: never log a probe's IP):
 * a request is logged as its method and path, nothing else. Query strings are dropped too, so
 * nothing a client adds to a URL ends up in the logs.
 */
import type { FastifyRequest, FastifyServerOptions } from 'fastify';

export type LoggerSetting = boolean | Exclude<FastifyServerOptions['logger'], boolean | undefined>;

/** false for no logs, true for info-level JSON, or pino options; requests always without address. */
export function addressFreeLogger(logger: LoggerSetting | undefined): FastifyServerOptions['logger'] {
  if (!logger) return false;
  const base = logger === true ? { level: 'info' } : logger;
  return {
    ...base,
    serializers: {
      ...(base.serializers ?? {}),
      req: (req: FastifyRequest) => ({
        method: req.method,
        url: (req.url ?? '').split('?')[0],
      }),
    },
  };
}
