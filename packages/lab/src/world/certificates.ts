// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** What certificate a name presents (SiteSpec.cert). */
export type CertMode = 'valid' | 'expired' | 'wrong-name' | 'unknown-ca';

export interface KeyAndCert {
  key: string;
  cert: string;
}

export interface LabCertificates {
  /** PEM of the lab CA (the only CA the probe is told to trust). */
  caPem: string;
  caFile: string;
  /**
   * PEM of the lab's stand-in for an app's private CA (Signal's, which the Signal experiment
   * pins); null when no certificate asked for it. The probe learns it from the lab catalog only.
   */
  pinnedCaPem: string | null;
  /** Per host name: the PEM key and certificate chain it serves. */
  leaves: Record<string, KeyAndCert>;
}

/** The name a `wrong-name` certificate is issued for. */
export const WRONG_NAME = 'wrong-name.pharos.example';

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

interface Authority {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

const subtle = webcrypto.subtle;

function generateKeys(): Promise<CryptoKeyPair> {
  return subtle.generateKey(ALGORITHM, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function createAuthority(commonName: string): Promise<Authority> {
  const keys = await generateKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}, O=Pharos lab`,
    keys,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 30 * DAY),
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

async function issue(
  authority: Authority,
  name: string | string[],
  validity: { notBefore: Date; notAfter: Date },
): Promise<KeyAndCert> {
  const names = typeof name === 'string' ? [name] : name;
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${names[0]}`,
    issuer: authority.cert.subject,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: authority.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns', value }))),
      await x509.AuthorityKeyIdentifierExtension.create(authority.cert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { key: await privateKeyPem(keys.privateKey), cert: cert.toString('pem') };
}

export interface CertRequest {
  host: string;
  mode: CertMode;
  /** Who signs a valid certificate: the lab CA (default) or the lab's stand-in for a private CA. */
  issuer?: 'lab' | 'pinned';
  /**
   * Valid certificates of the same group and issuer share one key and one certificate naming
   * them all (the platform stand-ins: one signature instead of a hundred).
   */
  group?: string;
}

/**
 * A fresh lab CA (written to WORKDIR/ca.pem) and a certificate for every requested name, shaped by
 * its mode: `expired` (notAfter in the past), `wrong-name` (issued for another name), `unknown-ca`
 * (signed by a second CA the probe is never given).
 */
export async function createLabCertificates(
  workDir: string,
  requests: CertRequest[],
  label: string,
): Promise<LabCertificates> {
  const ca = await createAuthority(`Pharos Lab CA ${label}`);
  let untrusted: Promise<Authority> | undefined;
  let pinned: Promise<Authority> | undefined;
  const now = Date.now();
  const current = { notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY) };
  const leaves: Record<string, KeyAndCert> = {};
  const groups = new Map<string, { issuer: 'lab' | 'pinned'; hosts: string[] }>();
  const single: CertRequest[] = [];
  for (const r of requests) {
    if (r.mode === 'valid' && r.group !== undefined) {
      const issuer = r.issuer ?? 'lab';
      const key = `${issuer} ${r.group}`;
      const group = groups.get(key) ?? { issuer, hosts: [] };
      group.hosts.push(r.host);
      groups.set(key, group);
    } else single.push(r);
  }
  const signer = (issuer: 'lab' | 'pinned' | undefined): Promise<Authority> => {
    if (issuer !== 'pinned') return Promise.resolve(ca);
    pinned ??= createAuthority(`Pharos Lab Pinned CA ${label}`);
    return pinned;
  };
  await Promise.all([
    ...[...groups.values()].map(async ({ issuer, hosts }) => {
      const shared = await issue(await signer(issuer), hosts, current);
      for (const host of hosts) leaves[host] = shared;
    }),
    ...single.map(async ({ host, mode, issuer }) => {
      switch (mode) {
        case 'valid':
          leaves[host] = await issue(await signer(issuer), host, current);
          break;
        case 'expired':
          leaves[host] = await issue(ca, host, {
            notBefore: new Date(now - 400 * DAY),
            notAfter: new Date(now - 30 * DAY),
          });
          break;
        case 'wrong-name':
          leaves[host] = await issue(ca, WRONG_NAME, current);
          break;
        case 'unknown-ca':
          untrusted ??= createAuthority(`Pharos Untrusted CA ${label}`);
          leaves[host] = await issue(await untrusted, host, current);
          break;
      }
    }),
  ]);
  const caPem = ca.cert.toString('pem');
  const caFile = join(workDir, 'ca.pem');
  await writeFile(caFile, `${caPem}\n`);
  const pinnedCaPem = pinned ? (await pinned).cert.toString('pem') : null;
  return { caPem, caFile, pinnedCaPem, leaves };
}
