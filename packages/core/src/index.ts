export * from './failures.js';
export * from './measurement.js';
export * from './mechanism.js';
