/** The names every lab's internet has, besides the scenario's own sites. */
export const LAB_NAMES = {
  th: 'th.pharos.example',
  publicResolver: 'dns.public.example',
  proxy: 'proxy.isp.example',
  defaultSites: ['www.example.com', 'www.example.org'],
} as const;

/**
 * The lab's stand-ins for Telegram's data centres are sites named `<dc>.telegram-dc.pharos.example`
 * (dc1 … dc6, the catalog's names): scenarios block them with `dst: dc1.telegram-dc.pharos.example`,
 * and the lab catalog gives the probe their addresses in place of the real ones.
 */
export const TELEGRAM_DC_DOMAIN = 'telegram-dc.pharos.example';

export function telegramDcHost(dc: string): string {
  return `${dc.toLowerCase()}.${TELEGRAM_DC_DOMAIN}`;
}

/** The address a `spoof: bogon` answer carries (Iran's well-known bogon). Never a lab address. */
export const BOGON_ADDRESS = '10.10.34.35';
export const LOCALHOST_ADDRESS = '127.0.0.1';

/** A lower-case name without a trailing dot, so that names compare the way DNS compares them. */
export function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}
