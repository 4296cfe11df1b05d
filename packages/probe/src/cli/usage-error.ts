export { UsageError } from './command-line.js';
