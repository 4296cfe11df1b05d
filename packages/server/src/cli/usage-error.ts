export { UsageError } from '@pharos/probe';
