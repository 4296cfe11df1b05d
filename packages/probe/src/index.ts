/** @pharos/probe: the experiments and the network primitives they are built from. */

export { describeParseError, UsageError } from './cli/command-line.js';
export * from './net/index.js';
export * from './webconnectivity/index.js';
