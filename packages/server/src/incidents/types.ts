/**
 * Incidents (docs/detection.md): anomalies that overlap in time and scope merged into one event
 * with a scope, a type in the STOP dataset's vocabulary, a start, a status and an end.
 */
import type { AnomalyWindow } from '../detection/types.js';

/** STOP's `shutdown_type`. */
export type ShutdownType = 'Shutdown' | 'Throttle';
/** STOP's `shutdown_extent`. */
export type ShutdownExtent = 'Full network' | 'Service-based';
export type IncidentStatus = 'ongoing' | 'ended';
/** What an analyst made of it. */
export type ReviewState = 'unreviewed' | 'confirmed' | 'dismissed';

export interface IncidentScope {
  /** The entity the incident is about (the narrowest one covering all its anomalies). */
  entity: string;
  country: string | null;
  region: string | null;
  asns: number[];
  /** Platforms or apps affected (empty for a full-network incident). */
  services: string[];
  /** STOP's `area_name`: where, in words ("Nationwide", "Baku, Fuzuli"); imported or analyst-given. */
  area?: string;
  /** STOP's `telcos_involved`, one "Country: Operator (Parent)" per item. */
  telcos?: string[];
  /** STOP's `other_affected` as written (free text: "Grindr, Blued", "VPNs"…), for imported incidents. */
  services_other?: string;
  /** The country as the source named it, when it is not one ISO code ("Laos; Myanmar", "Somaliland"). */
  country_name?: string;
}

export interface IncidentEvidence {
  /** The anomaly windows behind the incident. */
  windows: AnomalyWindow[];
  /** Measurements showing it, with their places in the evidence log. */
  measurements: Array<{ id: string; log_index: number }>;
}

/** What analysts add: STOP's columns that no detector can know. */
export interface IncidentAnnotations {
  actual_cause?: string;
  gov_justification?: string;
  legal_method?: string;
  legal_just?: 'Yes' | 'No' | 'Unknown';
  election?: 'Yes' | 'No' | 'Unknown';
  note?: string;
}

export interface Incident {
  /** Stable id, assigned when the incident is first opened. */
  id: string;
  scope: IncidentScope;
  shutdown_type: ShutdownType;
  shutdown_extent: ShutdownExtent;
  /**
   * Every STOP type that applies, in STOP's order ("Shutdown, Throttle": cut, then throttled);
   * `shutdown_type` is the first. Empty when STOP says Unknown. Absent means [shutdown_type].
   */
  shutdown_types?: ShutdownType[];
  /** Every STOP extent that applies ("Full network, Service-based"); absent means [shutdown_extent]. */
  shutdown_extents?: ShutdownExtent[];
  /** STOP's `start_date_type`: Actual (measured or witnessed) or Estimated; absent when unknown. */
  start_date_type?: 'Actual' | 'Estimated';
  status: IncidentStatus;
  /** ISO 8601 UTC. */
  start: string;
  /** How precisely the start is known, in seconds (the step of the signal that dated it). */
  start_precision_seconds: number;
  end: string | null;
  end_precision_seconds: number | null;
  /** 0..1: grows with the number of independent signals and detectors that agree. */
  confidence: number;
  review: ReviewState;
  annotations: IncidentAnnotations;
  evidence: IncidentEvidence;
  /** ISO 8601 of the first and latest state change. */
  opened_at: string;
  updated_at: string;
  /**
   * For an incident imported from a STOP sheet: where it came from and the row's raw strings
   * (every column, as read), so an export keeps what Pharos does not model.
   */
  source?: { file: string; row: number; stop: Record<string, string> };
}

/** A state change, as appended to the evidence log (`kind: "incident"`). */
export interface IncidentChange {
  incident: string;
  change: 'opened' | 'updated' | 'ended' | 'reopened' | 'confirmed' | 'annotated' | 'dismissed';
  /** Who made it: `detector` or the analyst's name. */
  by: string;
  at: string;
  /** The incident as it stands after the change. */
  snapshot: Incident;
}
