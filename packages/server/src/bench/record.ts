import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';

/**
 * Replace (or append) one benchmark's section in docs/benchmarks.md, stamped with the date and
 * machine, so each `npm run bench:*` keeps its latest numbers without touching the others. The
 * lab's benchmarks use it too (`@pharos/server/bench/record`).
 */
export async function recordBenchmark(file: string, name: string, body: string): Promise<void> {
  let doc: string;
  try {
    doc = await readFile(file, 'utf8');
  } catch {
    doc =
      '# Benchmarks\n\nNumbers printed by `npm run bench:*` and written here by the benchmarks themselves.\n';
  }
  const machine = `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const section = `${begin}\n## ${name}\n\nLast run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine}.\n\n${body}\n${end}`;
  const start = doc.indexOf(begin);
  const stop = doc.indexOf(end);
  doc =
    start >= 0 && stop > start
      ? `${doc.slice(0, start)}${section}${doc.slice(stop + end.length)}`
      : `${doc.trimEnd()}\n\n${section}\n`;
  await writeFile(file, doc);
}
