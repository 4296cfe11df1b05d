/**
 * Loading the platform catalog: the default one shipped beside this module (platforms.json, which
 * the build copies into dist), or an override file given by the caller (`--catalog FILE`).
 */
import { readFileSync } from 'node:fs';
import { type Catalog, CatalogSchema } from './schema.js';

/**
 * Only a type, but it makes the compiler treat platforms.json as part of the program, so `tsc`
 * copies it into dist next to this module. The file is read at run time (JSON modules still print
 * an experimental warning on Node 20).
 */
export type DefaultCatalogFile = typeof import('./platforms.json');

/** Where the default catalog is, in the sources and in dist alike. */
export const DEFAULT_CATALOG_URL = new URL('./platforms.json', import.meta.url);

export class CatalogError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`catalog ${file}: ${problem}`);
    this.name = 'CatalogError';
  }
}

/** Validates a catalog already parsed from JSON; throws CatalogError naming the first problem. */
export function parseCatalog(value: unknown, file = '(catalog)'): Catalog {
  const parsed = CatalogSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    throw new CatalogError(file, `${where ? `${where.replace(/^\./, '')}: ` : ''}${issue.message}`);
  }
  return parsed.data;
}

let defaultCatalog: Catalog | undefined;

/** The catalog at FILE (a path or file URL), or the default one when FILE is absent. */
export function loadCatalog(file?: string | URL): Catalog {
  if (file === undefined && defaultCatalog) return defaultCatalog;
  const source = file ?? DEFAULT_CATALOG_URL;
  const name = source instanceof URL ? source.pathname : source;
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (err) {
    throw new CatalogError(name, `cannot read the file (${(err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CatalogError(name, `not valid JSON (${(err as Error).message})`);
  }
  const catalog = parseCatalog(json, name);
  if (file === undefined) defaultCatalog = catalog;
  return catalog;
}
