import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenario, ScenarioError } from './scenario.js';
import type { ScenarioSpec } from './spec.js';

/** The suite's scenario files, shipped with the lab package. */
export function suiteDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'scenarios');
}

export async function suiteFiles(): Promise<string[]> {
  const dir = suiteDir();
  return (await readdir(dir))
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

export async function loadScenarios(files: string[]): Promise<ScenarioSpec[]> {
  const specs = await Promise.all(files.map(loadScenario));
  const names = new Map<string, string>();
  for (const s of specs) {
    const other = names.get(s.name);
    if (other) throw new ScenarioError(s.file, null, 'name', `"${s.name}" is also the name of ${other}`);
    names.set(s.name, s.file);
  }
  return specs;
}
