/**
 * The incidents API, as a Fastify plugin (`incidentRoutes(store, { analysts })`): the public list
 * and detail (what a dashboard, a status page and alerts read), the STOP CSV, and the analysts'
 * confirm / dismiss / annotate, which need `Authorization: Bearer TOKEN` (tokens from
 * `pharos analyst add`). Every input is checked with zod; a bad one is a 400 naming it and changes
 * nothing. See docs/detection.md, "Incidents".
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { canonicalEntity, EntityError } from '../signals/entity.js';
import type { AnalystRegistry } from './analysts.js';
import { exportStop } from './stop-csv.js';
import { ACTUAL_CAUSES, GOV_JUSTIFICATIONS, YES_NO_UNKNOWN } from './stop-vocabulary.js';
import type { IncidentStore, LoggedChange, ReviewAction } from './store.js';

export interface IncidentRoutesOptions {
  /** Who may act on incidents; without it every analyst action is refused (403). */
  analysts?: Pick<AnalystRegistry, 'verify'>;
}

class BadRequest extends Error {}

const ID = /^[a-z]+_[0-9a-f]{8,64}$/;

const entityParam = z.string().transform((text, ctx) => {
  try {
    return canonicalEntity(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof EntityError ? err.message : String(err) });
    return z.NEVER;
  }
});

const listQuery = z.strictObject({
  status: z.enum(['ongoing', 'ended'], { error: 'must be ongoing or ended' }).optional(),
  entity: entityParam.optional(),
  since: z
    .string()
    .refine(
      (s) => /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(s) && !Number.isNaN(Date.parse(s)),
      {
        message: 'must be an ISO 8601 date or time (2023-09-19 or 2023-09-19T06:00:00Z)',
      },
    )
    .transform((s) => new Date(s))
    .optional(),
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,3}$/, 'must be a whole number from 1 to 1000')
    .transform(Number)
    .refine((n) => n <= 1000, 'must be a whole number from 1 to 1000')
    .optional(),
});

const csvQuery = listQuery.omit({ limit: true }).extend({
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,5}$/, 'must be a whole number')
    .transform(Number)
    .optional(),
});

const noteBody = z.strictObject({ note: z.string().max(4000).optional() });

/** What an analyst may add: STOP's vocabulary, exactly. */
export const annotationsSchema = z
  .strictObject({
    actual_cause: z
      .enum(ACTUAL_CAUSES, { error: `must be one of STOP's causes: ${ACTUAL_CAUSES.join('; ')}` })
      .optional(),
    gov_justification: z
      .enum(GOV_JUSTIFICATIONS, {
        error: `must be one of STOP's justifications: ${GOV_JUSTIFICATIONS.join('; ')}`,
      })
      .optional(),
    legal_method: z.string().min(1).max(1000).optional(),
    legal_just: z.enum(YES_NO_UNKNOWN, { error: 'must be Yes, No or Unknown' }).optional(),
    election: z.enum(YES_NO_UNKNOWN, { error: 'must be Yes, No or Unknown' }).optional(),
    note: z.string().max(4000).optional(),
  })
  .refine((a) => Object.keys(a).length > 0, { message: 'give at least one annotation' });

function parse<T>(schema: z.ZodType<T>, value: unknown, what: 'query parameter' | 'body'): T {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    throw new BadRequest(`unknown ${what === 'body' ? 'member' : what} ${issue.keys.join(', ')}`);
  }
  const name = issue.path.join('.');
  if (what === 'body')
    throw new BadRequest(name ? `body: ${name} ${issue.message}` : `body: ${issue.message}`);
  throw new BadRequest(name ? `query parameter ${name} ${issue.message}` : issue.message);
}

function checkId(id: string): void {
  if (!ID.test(id)) throw new BadRequest(`"${id}" is not an incident id (inc_… or stop_…)`);
}

/** The history as the API shows it: each change with its place in the evidence log. */
function history(changes: LoggedChange[]) {
  return changes.map((c) => ({
    change: c.change,
    by: c.by,
    at: c.at,
    log_index: c.log_index,
    sha256: c.sha256,
    record: `/api/v1/records/${c.log_index}`,
  }));
}

export function incidentRoutes(
  store: IncidentStore,
  options: IncidentRoutesOptions = {},
): FastifyPluginAsync {
  /** The analyst behind the request, or an answer already sent (401 or 403). */
  async function analyst(request: FastifyRequest, reply: FastifyReply): Promise<string | null> {
    const header = request.headers.authorization;
    if (!header) {
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'this needs an analyst token: Authorization: Bearer TOKEN (see pharos analyst add)' });
      return null;
    }
    const m = /^Bearer ([A-Za-z0-9._~+/=-]{1,200})$/.exec(header);
    const name = m && options.analysts ? await options.analysts.verify(m[1]!) : null;
    if (!name) {
      await reply.code(403).send({ error: 'the token is not an analyst token of this observatory' });
      return null;
    }
    return name;
  }

  return async (app) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (error instanceof BadRequest) return reply.code(400).send({ error: error.message });
      if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
        return reply.code(error.statusCode).send({ error: error.message });
      }
      request.log.error({ err: error }, 'incident request failed');
      return reply.code(500).send({ error: 'internal error while reading or changing incidents' });
    });

    app.get('/api/v1/incidents', async (request, reply) => {
      const q = parse(listQuery, request.query, 'query parameter');
      const incidents = await store.list(q);
      return reply.header('cache-control', 'no-cache').send({ incidents });
    });

    app.get('/api/v1/incidents.csv', async (request, reply) => {
      const q = parse(csvQuery, request.query, 'query parameter');
      const incidents = await store.list({ ...q, limit: q.limit ?? Number.MAX_SAFE_INTEGER });
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="pharos-incidents-stop.csv"')
        .header('cache-control', 'no-cache')
        .send(exportStop(incidents));
    });

    app.get('/api/v1/incidents/:id', async (request, reply) => {
      const { id } = request.params as { id: string };
      checkId(id);
      const found = await store.get(id);
      if (!found) return reply.code(404).send({ error: `no incident ${id}` });
      return reply
        .header('cache-control', 'no-cache')
        .send({ incident: found.incident, changes: history(found.changes) });
    });

    const act =
      (parseBody: (body: unknown) => ReviewAction) =>
      async (request: FastifyRequest, reply: FastifyReply) => {
        const by = await analyst(request, reply);
        if (by === null) return reply;
        const { id } = request.params as { id: string };
        checkId(id);
        const action = parseBody(request.body);
        const logged = await store.review(id, by, action);
        if (!logged) return reply.code(404).send({ error: `no incident ${id}` });
        return reply.send({ incident: logged.snapshot, change: history([logged])[0] });
      };

    app.post(
      '/api/v1/incidents/:id/confirm',
      act((body) => ({ action: 'confirm', ...parse(noteBody, body, 'body') })),
    );
    app.post(
      '/api/v1/incidents/:id/dismiss',
      act((body) => ({ action: 'dismiss', ...parse(noteBody, body, 'body') })),
    );
    app.post(
      '/api/v1/incidents/:id/annotate',
      act((body) => ({ action: 'annotate', annotations: parse(annotationsSchema, body, 'body') })),
    );
  };
}
