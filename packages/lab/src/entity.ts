/**
 * Entities as the observatory names them (`country:AZ`, `region:AZ-FUZ+asn:29049`,
 * `country:AZ+platform:whatsapp`): parts joined by `+`, compared in one canonical order (country,
 * region, asn, platform, category) so a scenario may write them in any order. The lab keeps its own
 * small reader rather than load the server to compare two strings.
 */

const ORDER = ['country', 'region', 'asn', 'platform', 'category'] as const;
type Part = (typeof ORDER)[number];

const CODES: Record<Part, RegExp> = {
  country: /^[A-Z]{2}$/,
  region: /^[A-Z]{2}-[A-Z0-9]{1,3}$/,
  asn: /^[1-9]\d{0,9}$/,
  platform: /^[a-z0-9][a-z0-9_-]{0,31}$/,
  category: /^[A-Z]{2,8}$/,
};

/** The canonical spelling of an entity, or an error message saying what is wrong with it. */
export function canonicalEntity(text: string): { entity: string } | { error: string } {
  const parts: Partial<Record<Part, string>> = {};
  for (const piece of text.split('+')) {
    const colon = piece.indexOf(':');
    const type = piece.slice(0, colon < 0 ? piece.length : colon).trim() as Part;
    if (!ORDER.includes(type)) return { error: `"${piece}": the type is one of ${ORDER.join(', ')}` };
    let code = piece.slice(colon + 1).trim();
    if (colon < 0 || code === '') return { error: `"${piece}" has no code (write ${type}:CODE)` };
    if (type === 'asn') code = code.replace(/^AS/i, '');
    else if (type === 'platform') code = code.toLowerCase();
    else code = code.toUpperCase();
    if (!CODES[type].test(code)) return { error: `"${piece}": not a valid ${type} code` };
    if (parts[type] !== undefined) return { error: `${type} is given twice` };
    parts[type] = code;
  }
  return {
    entity: ORDER.filter((t) => parts[t] !== undefined)
      .map((t) => `${t}:${parts[t]}`)
      .join('+'),
  };
}

/** Canonical form when the text is an entity; the text itself otherwise (for comparing what a server said). */
export function sameEntity(a: string, b: string): boolean {
  const norm = (x: string) => {
    const c = canonicalEntity(x);
    return 'entity' in c ? c.entity : x;
  };
  return norm(a) === norm(b);
}
