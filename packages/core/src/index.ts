export * from './failures.js';
export * from './fingerprints.js';
export * from './ip.js';
export * from './measurement.js';
export * from './mechanism.js';
export * from './webconnectivity/index.js';
