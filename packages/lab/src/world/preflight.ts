import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const TOOLS = ['ip', 'nft', 'iptables', 'iptables-restore', 'tc'] as const;
const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

function findTool(name: string, dirs: string[]): string | undefined {
  for (const dir of dirs) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return dir;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Checks that the lab can run here: root (namespaces, nftables) and the system tools. Throws an error
 * saying what to do otherwise. Adds the sbin directories to PATH when the tools live only there.
 */
export async function preflight(): Promise<void> {
  if (process.platform !== 'linux') throw new Error('the Pharos lab needs Linux (network namespaces)');
  if (process.getuid?.() !== 0)
    throw new Error(
      'the Pharos lab needs root (it creates network namespaces and firewall rules inside them): run it as root, e.g. with sudo',
    );
  const path = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const missing: string[] = [];
  for (const tool of TOOLS) {
    if (findTool(tool, path)) continue;
    const dir = findTool(tool, SBIN);
    if (dir) {
      path.push(dir);
      process.env.PATH = path.join(delimiter);
    } else missing.push(tool);
  }
  if (missing.length > 0)
    throw new Error(
      `the Pharos lab needs ${missing.join(', ')} (iproute2, nftables, iptables): run scripts/install-system-deps.sh as root`,
    );
}
