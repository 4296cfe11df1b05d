/**
 * What a collector's answer means for a batch (docs/evidence-log.md, "Submission"): which items
 * are acknowledged, which one was refused for good, or that the batch should go elsewhere or later.
 */
import { parseRetryAfter } from './backoff.js';
import type { PostResult } from './http-post.js';

export interface Acknowledgement {
  id: string;
  log_index: number;
  duplicate: boolean;
}

export type BatchOutcome =
  /** 200 with results: these ids are durably stored and logged. */
  | { kind: 'accepted'; acknowledged: Acknowledgement[] }
  /** A 4xx naming one item (`measurements[3]: …`): that item will never be accepted. */
  | { kind: 'item-refused'; index: number; status: number; reason: string }
  /** A 4xx about the batch without naming an item (e.g. 413): smaller batches will tell which. */
  | { kind: 'batch-refused'; status: number; reason: string }
  /** Not now or not here (408, 429, 5xx, a redirect, a wrong URL, an answer that is not a collector's). */
  | { kind: 'unavailable'; reason: string; retryAfterMs: number | null };

/**
 * 4xx codes that speak about the collector or the way to it, not about the measurements: a wrong
 * URL (404), a proxy or a login wall (401, 403, 407), a misrouted request (421). Moving items to
 * failed/ on these would throw good evidence away because of a typo in --collector.
 */
const NOT_ABOUT_THE_ITEMS = new Set([401, 403, 404, 405, 407, 408, 421, 426, 429]);

const ID = /^[0-9a-f]{64}$/;

export function classifyResponse(result: PostResult, ids: string[], now: Date): BatchOutcome {
  const { status } = result;
  const reason = `${status} ${result.statusText}`.trim();
  if (status === 200) return acceptedOutcome(result, ids);
  if (status >= 400 && status < 500 && !NOT_ABOUT_THE_ITEMS.has(status)) {
    const message = errorMessage(result.body);
    const named = /measurements\[(\d+)\]/.exec(message);
    const index = named ? Number(named[1]) : -1;
    const said = message ? `${reason}: ${message}` : reason;
    if (index >= 0 && index < ids.length) return { kind: 'item-refused', index, status, reason: said };
    return { kind: 'batch-refused', status, reason: said };
  }
  let why = reason;
  if (status === 404 || status === 405) why += ' (is this the address of a Pharos collector?)';
  else if (status >= 300 && status < 400)
    why += ` (redirected to ${result.headers.location ?? '?'}: give that URL instead)`;
  else {
    const message = errorMessage(result.body);
    if (message) why += `: ${message}`;
  }
  return {
    kind: 'unavailable',
    reason: why,
    retryAfterMs: parseRetryAfter(result.headers['retry-after'], now),
  };
}

function acceptedOutcome(result: PostResult, ids: string[]): BatchOutcome {
  let value: unknown;
  try {
    value = JSON.parse(result.body.toString('utf8'));
  } catch {
    return notACollector('its 200 answer is not JSON');
  }
  const results = (value as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) return notACollector('its 200 answer has no "results" list');
  const wanted = new Set(ids);
  const acknowledged = new Map<string, Acknowledgement>();
  for (const r of results as Partial<Acknowledgement>[]) {
    if (
      typeof r?.id === 'string' &&
      ID.test(r.id) &&
      wanted.has(r.id) &&
      Number.isSafeInteger(r.log_index) &&
      (r.log_index as number) >= 0
    ) {
      acknowledged.set(r.id, { id: r.id, log_index: r.log_index as number, duplicate: r.duplicate === true });
    }
  }
  // Only ids that match what we computed count: anything else proves nothing about our items.
  if (acknowledged.size === 0)
    return notACollector('its 200 answer acknowledges none of the measurements sent');
  return { kind: 'accepted', acknowledged: [...acknowledged.values()] };
}

function notACollector(why: string): BatchOutcome {
  return { kind: 'unavailable', reason: `not a Pharos collector's answer: ${why}`, retryAfterMs: null };
}

/** The message of a JSON error body (`message` or `error`), or a short text body. */
function errorMessage(body: Buffer): string {
  const text = body.toString('utf8').trim();
  if (text === '') return '';
  try {
    const value = JSON.parse(text) as { message?: unknown; error?: unknown };
    const message = typeof value.message === 'string' ? value.message : value.error;
    if (typeof message === 'string') return message.slice(0, 500);
  } catch {
    // Not JSON: a proxy's or a web server's page.
  }
  return /^[\x20-\x7e\s]{1,200}$/.test(text) ? text : '';
}
