/**
 * Whether an incident lies within an entity someone asks about: `country:AZ` covers incidents on
 * AZ's ASNs and regions (their scope records the country even when their entity names only the
 * ASN), `asn:29049` covers that network's regional and platform incidents.
 */
import { parseEntity } from '../signals/entity.js';
import type { IncidentScope } from './types.js';

export function entityWithinScope(scope: IncidentScope, entity: string): boolean {
  const outer = parseEntity(entity);
  const inner = parseEntity(scope.entity);
  if (!inner.country && scope.country) inner.country = scope.country;
  if (!inner.region && scope.region) inner.region = scope.region;
  for (const [type, code] of Object.entries(outer)) {
    if (type === 'asn' && inner.asn === undefined && scope.asns.includes(Number(code))) continue;
    if (type === 'platform' && inner.platform === undefined && scope.services.includes(code)) continue;
    if (inner[type as keyof typeof inner] !== code) return false;
  }
  return true;
}
