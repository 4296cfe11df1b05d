/**
 * Entities: where a signal or an incident applies. One or more `type:code` parts joined by `+`,
 * always in the canonical order country, region, asn, platform, category — so
 * `platform:tiktok+asn:29049` and `asn:29049+platform:tiktok` name the same thing and are stored
 * once, as the latter.
 */

export const ENTITY_TYPES = ['country', 'region', 'asn', 'platform', 'category'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

export type EntityParts = Partial<Record<EntityType, string>>;

const CODE_PATTERNS: Record<EntityType, RegExp> = {
  // ISO 3166-1 alpha-2.
  country: /^[A-Z]{2}$/,
  // ISO 3166-2 subdivision, e.g. AZ-FUZ.
  region: /^[A-Z]{2}-[A-Z0-9]{1,3}$/,
  asn: /^[1-9][0-9]{0,9}$/,
  // A platform or app name as the probe's catalog spells it (tiktok, whatsapp, facebook_messenger).
  platform: /^[a-z0-9][a-z0-9_-]{0,31}$/,
  // A test-list category code (NEWS, POLR, …).
  category: /^[A-Z]{2,8}$/,
};

export class EntityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EntityError';
  }
}

/** Parses and checks an entity; throws EntityError naming what is wrong. */
export function parseEntity(text: string): EntityParts {
  if (text.length === 0) throw new EntityError('an entity cannot be empty (e.g. country:AZ, asn:29049)');
  const parts: EntityParts = {};
  for (const part of text.split('+')) {
    const colon = part.indexOf(':');
    const type = (colon < 0 ? part : part.slice(0, colon)) as EntityType;
    if (!ENTITY_TYPES.includes(type))
      throw new EntityError(`entity "${text}": unknown type "${type}" (known: ${ENTITY_TYPES.join(', ')})`);
    if (colon < 0) throw new EntityError(`entity "${text}": "${part}" has no code (write ${type}:CODE)`);
    let code = part.slice(colon + 1);
    if (type === 'country' || type === 'region' || type === 'category') code = code.toUpperCase();
    if (type === 'asn') code = code.replace(/^AS/i, '');
    if (type === 'platform') code = code.toLowerCase();
    if (!CODE_PATTERNS[type].test(code))
      throw new EntityError(`entity "${text}": "${part.slice(colon + 1)}" is not a valid ${type} code`);
    if (parts[type] !== undefined) throw new EntityError(`entity "${text}": ${type} is given twice`);
    parts[type] = code;
  }
  if (parts.region && parts.country && !parts.region.startsWith(`${parts.country}-`))
    throw new EntityError(`entity "${text}": region ${parts.region} is not in country ${parts.country}`);
  return parts;
}

/** The canonical text of an entity. */
export function formatEntity(parts: EntityParts): string {
  const out: string[] = [];
  for (const type of ENTITY_TYPES) if (parts[type] !== undefined) out.push(`${type}:${parts[type]}`);
  if (out.length === 0) throw new EntityError('an entity needs at least one part');
  return out.join('+');
}

/** Parses and re-formats: the one spelling an entity is stored and compared under. */
export function canonicalEntity(text: string): string {
  return formatEntity(parseEntity(text));
}

/** True when `inner` is within `outer` (every part of outer is also in inner), e.g. asn:1+platform:x within asn:1. */
export function entityWithin(inner: string, outer: string): boolean {
  const a = parseEntity(inner);
  const b = parseEntity(outer);
  return ENTITY_TYPES.every((t) => b[t] === undefined || a[t] === b[t]);
}
