export * from './bytes.js';
export * from './ed25519.js';
export * from './jcs.js';
export * from './sha256.js';
