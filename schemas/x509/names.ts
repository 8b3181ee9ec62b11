// Subject names and subject alternative names: how `hosts` and {O, OU, CN} become ASN.1.
import { isIP } from 'node:net';
import { derTlv, generalNameHex, type GeneralNameParam, type RdnAttr, x500NameHex } from './asn1.js';
import { PkiError } from './errors.js';

/** A distinguished name's attributes by short name (the last one wins if an attribute repeats). */
export interface DistinguishedName {
  CN?: string;
  O?: string;
  OU?: string;
  C?: string;
  L?: string;
  ST?: string;
  [attribute: string]: string | undefined;
}

export interface SubjectInput {
  O?: string;
  OU?: string;
  CN?: string;
}

/** DER (hex) of an X.500 Name with O, OU, CN in that order (UTF8String, as openssl req writes). */
export function subjectNameHex(subject: SubjectInput, what = 'subject'): string {
  const rdns: RdnAttr[][] = [];
  for (const type of ['O', 'OU', 'CN'] as const) {
    const v = subject?.[type];
    if (v === undefined || v === '') continue;
    if (typeof v !== 'string') throw new PkiError(`${what}.${type}: expected a string`);
    if (v.length > 64) throw new PkiError(`${what}.${type}: at most 64 characters (RFC 5280), got ${v.length}`);
    rdns.push([{ type, value: v, ds: 'utf8' }]);
  }
  return x500NameHex(rdns);
}

export function dnFromArray(rdns: RdnAttr[][]): DistinguishedName {
  const dn: DistinguishedName = {};
  for (const rdn of rdns) for (const a of rdn) dn[a.type] = a.value;
  return dn;
}

/** "O=gloo-mesh, OU=cluster-1, CN=istio-ca": the attributes in their order in the certificate. */
export function dnText(rdns: RdnAttr[][]): string {
  return rdns.map((rdn) => rdn.map((a) => `${a.type}=${a.value}`).join('+')).join(', ');
}

export type SanType = 'DNS' | 'IP' | 'URI' | 'email';
export interface SanEntry {
  type: SanType;
  value: string;
}

const URI_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const DNS_NAME =
  /^(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** How a host of an IssuedCertificate becomes a SAN: spiffe:// (any URI) -> URI, IP -> IP, else DNS. */
export function classifyHost(host: string, what: string): SanEntry {
  if (typeof host !== 'string' || host === '') throw new PkiError(`${what}: expected a non-empty string`);
  if (URI_SCHEME.test(host)) {
    try {
      new URL(host);
    } catch {
      throw new PkiError(`${what}: "${host}" is not a valid URI`);
    }
    if (!/^[\x21-\x7e]+$/.test(host)) throw new PkiError(`${what}: "${host}": a URI SAN must be ASCII without spaces`);
    return { type: 'URI', value: host };
  }
  if (isIP(host)) return { type: 'IP', value: host };
  if (host.length > 253 || !DNS_NAME.test(host)) {
    throw new PkiError(`${what}: "${host}" is not a DNS name, an IP address or a URI (spiffe://...)`);
  }
  return { type: 'DNS', value: host };
}

export function classifyHosts(hosts: readonly string[], what = 'hosts'): SanEntry[] {
  if (!Array.isArray(hosts)) throw new PkiError(`${what}: expected an array of strings`);
  return hosts.map((h, i) => classifyHost(h, `${what}[${i}]`));
}

function toParam(e: SanEntry): GeneralNameParam {
  switch (e.type) {
    case 'DNS':
      return { dns: e.value };
    case 'IP':
      return { ip: e.value };
    case 'URI':
      return { uri: e.value };
    case 'email':
      return { rfc822: e.value };
  }
}

// jsrsasign takes ~8 us to encode one GeneralName (IP addresses the most), a sixth of our own
// work per certificate. A dNSName or URI is an IA5String under an implicit context tag, so its
// DER is the tag, the length and the ASCII bytes: we write those directly (test/pki checks them
// against jsrsasign) and leave IP addresses and the rest to jsrsasign. Hosts recur across
// issuances (trust domain, istiod names), so each valid host's encoding is kept too. Only hosts
// that passed classifyHost are ever stored.
const hostCache = new Map<string, Buffer>();
const HOST_CACHE_MAX = 1024;
const IMPLICIT_TAG = { DNS: 0x82, URI: 0x86, email: 0x81 } as const;

function generalNameDer(host: string, what: string): Buffer {
  let tlv = hostCache.get(host);
  if (tlv === undefined) {
    const entry = classifyHost(host, what);
    // classifyHost admits only ASCII for DNS names and URIs.
    tlv =
      entry.type === 'IP'
        ? Buffer.from(generalNameHex(toParam(entry)), 'hex')
        : derTlv(IMPLICIT_TAG[entry.type], [Buffer.from(entry.value, 'latin1')]);
    if (hostCache.size >= HOST_CACHE_MAX) hostCache.clear();
    hostCache.set(host, tlv);
  }
  return tlv;
}

/** DER of the GeneralNames SEQUENCE for `hosts` (validated; throws PkiError naming the bad host). */
export function generalNamesDer(hosts: readonly string[], what = 'hosts'): Buffer {
  if (!Array.isArray(hosts)) throw new PkiError(`${what}: expected an array of strings`);
  const tlvs: Buffer[] = [];
  for (let i = 0; i < hosts.length; i++) {
    const h = hosts[i];
    if (typeof h !== 'string') throw new PkiError(`${what}[${i}]: expected a non-empty string`);
    tlvs.push(generalNameDer(h, `${what}[${i}]`));
  }
  return derTlv(0x30, tlvs);
}

/** The same as hex, for structures jsrsasign assembles (CSRs). */
export function generalNamesForHosts(hosts: readonly string[], what = 'hosts'): string {
  return generalNamesDer(hosts, what).toString('hex');
}

/** jsrsasign's parsed GeneralName objects to our entries (others are skipped). */
export function sanEntriesFromParams(array: Array<Record<string, unknown>> | undefined): SanEntry[] {
  const out: SanEntry[] = [];
  for (const g of array ?? []) {
    if (typeof g.dns === 'string') out.push({ type: 'DNS', value: g.dns });
    else if (typeof g.ip === 'string') out.push({ type: 'IP', value: g.ip });
    else if (typeof g.uri === 'string') out.push({ type: 'URI', value: g.uri });
    else if (typeof g.rfc822 === 'string') out.push({ type: 'email', value: g.rfc822 });
  }
  return out;
}
