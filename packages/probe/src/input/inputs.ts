/**
 * The URLs of one run: command-line `--input`s and test lists, checked and deduplicated, each
 * URL measured once however often it is listed.
 */
import { checkMeasurableURL } from './measurable-url.js';
import { type InputURL, readTestList } from './test-list.js';

export interface RunInputs {
  urls: InputURL[];
  warnings: string[];
}

/** A duplicate is the same URL after parsing (`HTTP://X.org` and `http://x.org/` are one). */
export function dedupeInputs(candidates: InputURL[]): RunInputs {
  const firstSeen = new Map<string, InputURL>();
  const warnings: string[] = [];
  for (const candidate of candidates) {
    const key = new URL(candidate.url).href;
    const first = firstSeen.get(key);
    if (first) {
      warnings.push(`${candidate.origin}: duplicate of ${first.origin} (${first.url}); measured once`);
      continue;
    }
    firstSeen.set(key, candidate);
  }
  return { urls: [...firstSeen.values()], warnings };
}

/**
 * Reads the lists and merges them after the `--input`s. `--input`s must already be valid (the
 * CLI rejects a bad one outright); lists only warn. Throws TestListError for an unusable file.
 */
export async function loadInputs(options: {
  inputs: string[];
  lists: { path: string; displayName: string }[];
}): Promise<RunInputs> {
  const candidates: InputURL[] = [];
  const warnings: string[] = [];
  for (const input of options.inputs) {
    const check = checkMeasurableURL(input);
    if (!check.ok) throw new Error(`invalid URL "${input}": ${check.reason}`);
    candidates.push({ url: input.trim(), categoryCode: null, origin: '--input' });
  }
  for (const list of options.lists) {
    const parsed = await readTestList(list.path, list.displayName);
    candidates.push(...parsed.entries);
    warnings.push(...parsed.warnings);
  }
  const deduped = dedupeInputs(candidates);
  return { urls: deduped.urls, warnings: [...warnings, ...deduped.warnings] };
}
