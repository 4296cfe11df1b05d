export { type HelperContext, measureControl } from './measure.js';
export type { TestHelperOptions, TestHelperTimeouts } from './options.js';
export { controlRequestSchema, describeIssues, MAX_ENDPOINTS, type ParsedControlRequest } from './schema.js';
export { CONTROL_PATHS, createTestHelperServer, testHelperRoutes } from './server.js';
