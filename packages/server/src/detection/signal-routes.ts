/**
 * `GET /api/v1/signals`: the series detection reads, as a pass gathers them (stored points, beacon
 * and measurement aggregates), for a dashboard's charts and for anyone replaying detection: with
 * `format=csv` the answer is in the CSV format `pharos import signals` and `pharos eval --signals`
 * read. A range is at most 31 days, so one request cannot make the server derive a year.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { canonicalEntity, EntityError } from '../signals/entity.js';
import { parseTime } from '../signals/import/index.js';
import type { SignalPoint } from '../signals/types.js';
import type { PassRange } from './engine.js';

export const SIGNALS_PATH = '/api/v1/signals';
const MAX_RANGE_SECONDS = 31 * 86400;

const time = z.string().transform((text, ctx) => {
  const parsed = parseTime(text);
  if ('error' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }
  return parsed.time;
});

const query = z.strictObject({
  from: time,
  until: time,
  entity: z
    .string()
    .transform((text, ctx) => {
      try {
        return canonicalEntity(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: err instanceof EntityError ? err.message : String(err) });
        return z.NEVER;
      }
    })
    .optional(),
  signal: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'is not a signal name')
    .optional(),
  format: z.enum(['json', 'csv']).default('json'),
});

export function signalRoutes(gather: (range: PassRange) => Promise<SignalPoint[]>): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    app.get(SIGNALS_PATH, async (request, reply: FastifyReply) => {
      const parsed = query.safeParse(request.query);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const where = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.join('.');
        return reply.code(400).send({
          error: `query parameter ${where}: ${issue.message}`,
          example: `${SIGNALS_PATH}?from=2023-09-19T00:00:00Z&until=2023-09-20T00:00:00Z&entity=asn:29049`,
        });
      }
      const q = parsed.data;
      if (!(q.until > q.from) || q.until - q.from > MAX_RANGE_SECONDS) {
        return reply.code(400).send({ error: 'until must be after from, and the range at most 31 days' });
      }
      const points = (await gather({ from: q.from, until: q.until })).filter(
        (p) =>
          (q.entity === undefined || p.entity === q.entity) &&
          (q.signal === undefined || p.signal === q.signal),
      );
      points.sort(
        (a, b) => a.entity.localeCompare(b.entity) || a.signal.localeCompare(b.signal) || a.time - b.time,
      );
      if (q.format === 'csv') {
        const lines = ['time,entity,signal,value,count,step'];
        for (const p of points)
          lines.push(`${p.time},${p.entity},${p.signal},${p.value},${p.count},${p.step}`);
        return reply.type('text/csv; charset=utf-8').send(`${lines.join('\n')}\n`);
      }
      return { from: q.from, until: q.until, points };
    });
  };
}
