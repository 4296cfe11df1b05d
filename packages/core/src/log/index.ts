export * from './checkpoint.js';
export * from './merkle.js';
export * from './note.js';
export * from './proof.js';
export * from './tiles.js';
