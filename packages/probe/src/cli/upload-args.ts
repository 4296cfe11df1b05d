/**
 * The options every command that uploads shares (`run`, `upload`, `submit`): where to send, which
 * CA to trust, where the state lives, how long to keep trying.
 */
import { type Collector, parseCollector } from '../upload/collector-url.js';
import { parseSeconds } from './arg-values.js';
import { UsageError } from './command-line.js';
import { DEFAULT_UPLOAD_TIMEOUT_SECONDS } from './usage.js';

export const UPLOAD_OPTIONS = {
  collector: { type: 'string', multiple: true },
  ca: { type: 'string', multiple: true },
  'state-dir': { type: 'string', multiple: true },
  'upload-timeout': { type: 'string', multiple: true },
} as const;

export interface UploadArgs {
  collectors: Collector[];
  caFiles: string[];
  /** As given; undefined: the default (see identity/state-dir.ts). */
  stateDir: string | undefined;
  uploadTimeoutSeconds: number;
}

interface UploadValues {
  collector?: string[];
  ca?: string[];
  'state-dir'?: string[];
  'upload-timeout'?: string[];
}

export function parseUploadValues(values: UploadValues): UploadArgs {
  const collectors: Collector[] = [];
  for (const text of values.collector ?? []) {
    try {
      const collector = parseCollector(text);
      if (!collectors.some((c) => c.endpoint.href === collector.endpoint.href)) collectors.push(collector);
    } catch (err) {
      throw new UsageError(`--collector "${text}": ${(err as Error).message}`);
    }
  }
  const caFiles = values.ca ?? [];
  for (const file of caFiles) if (file.trim() === '') throw new UsageError('--ca needs a file name');
  const stateDir = single(values, 'state-dir');
  if (stateDir !== undefined && stateDir.trim() === '') throw new UsageError('--state-dir needs a directory');
  const timeout = single(values, 'upload-timeout');
  return {
    collectors,
    caFiles,
    stateDir,
    uploadTimeoutSeconds:
      timeout === undefined ? DEFAULT_UPLOAD_TIMEOUT_SECONDS : parseSeconds('--upload-timeout', timeout),
  };
}

export function requireCollector(args: UploadArgs): void {
  if (args.collectors.length === 0) {
    throw new UsageError('no collector: give at least one --collector URL (e.g. https://collector.example/)');
  }
}

function single(values: UploadValues, name: 'state-dir' | 'upload-timeout'): string | undefined {
  const given = values[name];
  if (given && given.length > 1) throw new UsageError(`--${name} may be given only once`);
  return given?.[0];
}
