/**
 * IncidentStore: incidents and their change history in the signals database (tables `incidents`
 * and `incident_changes`), every change first appended to the evidence log as a record of kind
 * `incident` (docs/evidence-log.md, "Records"). The log is the account of what happened; the
 * tables are its index for the API. Changes are applied one batch at a time, so a detection pass
 * and an analyst's action never interleave.
 */
import type { EvidenceStore } from '../evidence/types.js';
import { Serial } from '../serial.js';
import type { SignalsDatabase } from '../signals/database.js';
import type { DraftIncident } from './build.js';
import { type ReconcileOptions, reconcile } from './reconcile.js';
import { entityWithinScope } from './scope.js';
import type { Incident, IncidentAnnotations, IncidentChange, IncidentStatus } from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS incidents (
  id VARCHAR NOT NULL,
  entity VARCHAR NOT NULL,
  status VARCHAR NOT NULL,
  review VARCHAR NOT NULL,
  start_time TIMESTAMP NOT NULL,
  end_time TIMESTAMP,
  updated_at TIMESTAMP NOT NULL,
  body VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS incident_changes (
  incident VARCHAR NOT NULL,
  log_index BIGINT NOT NULL,
  sha256 VARCHAR NOT NULL,
  change VARCHAR NOT NULL,
  by_whom VARCHAR NOT NULL,
  changed_at TIMESTAMP NOT NULL,
  body VARCHAR NOT NULL
);
`;

/** A change as stored: where it sits in the evidence log. */
export interface LoggedChange extends IncidentChange {
  log_index: number;
  /** SHA-256 of the change's canonical JSON, as its log entry records. */
  sha256: string;
}

export interface IncidentQuery {
  status?: IncidentStatus;
  /** Incidents within this entity (`country:AZ` lists the ASN and region incidents there too). */
  entity?: string;
  /** Incidents going on at or after this time (not ended before it). */
  since?: Date;
  /** At most this many, newest start first. Default 100. */
  limit?: number;
}

/** What the log needs of the evidence store. */
export type RecordLog = Pick<EvidenceStore, 'appendRecord'>;

/** An analyst's action on one incident. */
export type ReviewAction =
  | { action: 'confirm'; note?: string }
  | { action: 'dismiss'; note?: string }
  | { action: 'annotate'; annotations: IncidentAnnotations };

function ms(value: unknown): number {
  return typeof value === 'bigint' ? Number(value) : (value as number);
}

export class IncidentStore {
  private readonly serial = new Serial();

  private constructor(
    private readonly db: SignalsDatabase,
    private readonly log: RecordLog,
  ) {}

  /** Creates the tables when missing. */
  static async open(db: SignalsDatabase, log: RecordLog): Promise<IncidentStore> {
    await db.run(SCHEMA);
    return new IncidentStore(db, log);
  }

  /**
   * Logs and stores changes, in order: each is appended to the evidence log (all in one group
   * commit), then the incidents and the history are written in one transaction.
   */
  apply(changes: readonly IncidentChange[]): Promise<LoggedChange[]> {
    return this.serial.run(() => this.applyNow(changes));
  }

  private async applyNow(changes: readonly IncidentChange[]): Promise<LoggedChange[]> {
    if (changes.length === 0) return [];
    // What is logged is exactly what is stored: plain JSON, no undefined members.
    changes = JSON.parse(JSON.stringify(changes)) as IncidentChange[];
    // Called together, they queue together: the sequencer commits them as one group, in order.
    const logged = await Promise.all(
      changes.map((c) => this.log.appendRecord('incident', c as unknown as Record<string, unknown>)),
    );
    const out: LoggedChange[] = changes.map((c, i) => ({ ...c, ...logged[i]! }));
    const latest = new Map<string, Incident>();
    for (const c of changes) latest.set(c.incident, c.snapshot);
    await this.db.transaction(async (run) => {
      for (const [id, incident] of latest) {
        await run('DELETE FROM incidents WHERE id = $1', [id]);
        await run(
          'INSERT INTO incidents VALUES ($1, $2, $3, $4, $5::TIMESTAMP, $6::TIMESTAMP, $7::TIMESTAMP, $8)',
          [
            id,
            incident.scope.entity,
            incident.status,
            incident.review,
            timestamp(incident.start),
            incident.end === null ? null : timestamp(incident.end),
            timestamp(incident.updated_at),
            JSON.stringify(incident),
          ],
        );
      }
      for (const c of out) {
        await run('INSERT INTO incident_changes VALUES ($1, $2, $3, $4, $5, $6::TIMESTAMP, $7)', [
          c.incident,
          c.log_index,
          c.sha256,
          c.change,
          c.by,
          timestamp(c.at),
          JSON.stringify(c),
        ]);
      }
    });
    return out;
  }

  /** Every stored incident (for reconciling a pass). */
  async all(): Promise<Incident[]> {
    const rows = await this.db.all<{ body: string }>('SELECT body FROM incidents ORDER BY start_time, id');
    return rows.map((r) => JSON.parse(r.body) as Incident);
  }

  /** Reconciles a pass's drafts with the stored incidents, then logs and stores the changes. */
  evaluate(drafts: readonly DraftIncident[], options: ReconcileOptions): Promise<LoggedChange[]> {
    return this.serial.run(async () => this.applyNow(reconcile(await this.all(), drafts, options)));
  }

  async list(query: IncidentQuery = {}): Promise<Incident[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (query.status) {
      params.push(query.status);
      where.push(`status = $${params.length}`);
    }
    if (query.since) {
      params.push(timestamp(query.since.toISOString()));
      where.push(`(end_time IS NULL OR end_time >= $${params.length}::TIMESTAMP)`);
    }
    const rows = await this.db.all<{ body: string }>(
      `SELECT body FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY start_time DESC, id`,
      params,
    );
    const limit = query.limit ?? 100;
    const out: Incident[] = [];
    for (const r of rows) {
      const incident = JSON.parse(r.body) as Incident;
      if (query.entity && !entityWithinScope(incident.scope, query.entity)) continue;
      out.push(incident);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** One incident with its change history (oldest first), or null. */
  async get(id: string): Promise<{ incident: Incident; changes: LoggedChange[] } | null> {
    const rows = await this.db.all<{ body: string }>('SELECT body FROM incidents WHERE id = $1', [id]);
    if (rows.length === 0) return null;
    const changes = await this.db.all<{ body: string; log_index: unknown }>(
      'SELECT body, log_index FROM incident_changes WHERE incident = $1 ORDER BY log_index',
      [id],
    );
    return {
      incident: JSON.parse(rows[0]!.body) as Incident,
      changes: changes.map((c) => ({ ...(JSON.parse(c.body) as LoggedChange), log_index: ms(c.log_index) })),
    };
  }

  /**
   * An analyst confirms, dismisses or annotates an incident: one logged change with their name in
   * `by`. Null when there is no such incident.
   */
  review(id: string, by: string, action: ReviewAction, now = new Date()): Promise<LoggedChange | null> {
    return this.serial.run(async () => {
      const found = await this.get(id);
      if (!found) return null;
      const at = now.toISOString();
      const incident: Incident = { ...found.incident, updated_at: at };
      let change: IncidentChange['change'];
      if (action.action === 'annotate') {
        change = 'annotated';
        incident.annotations = { ...incident.annotations, ...action.annotations };
      } else {
        change = action.action === 'confirm' ? 'confirmed' : 'dismissed';
        incident.review = action.action === 'confirm' ? 'confirmed' : 'dismissed';
        if (action.note !== undefined) incident.annotations = { ...incident.annotations, note: action.note };
      }
      const [logged] = await this.applyNow([{ incident: id, change, by, at, snapshot: incident }]);
      return logged!;
    });
  }

  /** Ids of the stored incidents (for imports that skip what they already brought in). */
  async ids(): Promise<Set<string>> {
    const rows = await this.db.all<{ id: string }>('SELECT id FROM incidents');
    return new Set(rows.map((r) => r.id));
  }
}

/** DuckDB reads 'YYYY-MM-DD HH:MM:SS.mmm' as a TIMESTAMP (UTC, no zone). */
function timestamp(iso: string): string {
  return iso.replace('T', ' ').replace('Z', '');
}
