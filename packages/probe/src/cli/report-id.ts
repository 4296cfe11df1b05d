/**
 * One report id per run, in OONI's shape (`20240207T101500Z_webconnectivity_AZ_29049_n1_<16
 * random letters>`), so every measurement of the run is grouped as OONI groups a report.
 */
import { randomInt } from 'node:crypto';
import { compactUTC } from './units.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function newReportId(start: Date, probeCC = 'ZZ', probeASN = 'AS0'): string {
  let random = '';
  for (let i = 0; i < 16; i++) random += ALPHABET[randomInt(ALPHABET.length)];
  return `${compactUTC(start)}_webconnectivity_${probeCC}_${probeASN.replace(/^AS/i, '')}_n1_${random}`;
}
