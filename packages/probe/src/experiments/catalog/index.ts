export { CatalogError, DEFAULT_CATALOG_URL, loadCatalog, parseCatalog } from './load.js';
export {
  type Catalog,
  type CatalogFile,
  type CatalogPlatform,
  type CatalogPlatformEndpoint,
  CatalogSchema,
} from './schema.js';
