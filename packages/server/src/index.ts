/** @pharos/server: the observatory's services. */
export * from './test-helper/index.js';
