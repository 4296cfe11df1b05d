export * from './compare.js';
export * from './runner.js';
export * from './scenario.js';
export type * from './spec.js';
export * from './suite.js';
