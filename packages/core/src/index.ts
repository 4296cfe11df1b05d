export * from './crypto/index.js';
export * from './failures.js';
export * from './fingerprints.js';
export * from './ip.js';
export * from './log/index.js';
export * from './measurement.js';
export * from './mechanism.js';
export * from './webconnectivity/index.js';
