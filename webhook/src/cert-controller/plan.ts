// What the webhook's certificate Secret should hold next (--tls-mode self), decided from what it
// holds now and the clock; no I/O, so every step of a renewal is testable on its own.
//
// The Secret (type Opaque) holds:
//   ca.crt, ca.key            the CA that signs serving certificates now
//   ca-next.crt, ca-next.key  during a CA renewal: the CA that takes over, already trusted
//   ca-bundle.crt             every CA the API server must trust: the current one, the next one,
//                             and earlier ones until they expire (replicas may still serve
//                             certificates they signed until they reload)
//   tls.crt, tls.key          the serving certificate, signed by ca.crt
//
// Renewals, each at 2/3 of the certificate's life:
//   serving certificate  a new one from the current CA; the bundle does not change.
//   CA                   1. a next CA joins the bundle (nothing is signed by it yet);
//                        2. once the bundle with it has been in both webhook configurations for
//                           a while (the controller says so: promoteNext), it becomes the current
//                           CA and signs a new serving certificate; the old CA stays in the
//                           bundle until it expires.
// So the API server trusts every certificate a replica can be serving, at every moment.
import { X509Certificate } from 'node:crypto';
import { createCa, createServingCertificate, keyMatches, signedBy, type KeyPair } from './certificates.js';

export const SECRET_KEYS = [
  'ca.crt',
  'ca.key',
  'ca-next.crt',
  'ca-next.key',
  'ca-bundle.crt',
  'tls.crt',
  'tls.key',
] as const;
export type SecretData = Partial<Record<(typeof SECRET_KEYS)[number], string>>;

export interface PlanOptions {
  /** Every DNS name and IP address the serving certificate must carry. */
  hosts: string[];
  caLifetimeMs: number;
  servingLifetimeMs: number;
  caCommonName: string;
  now: number;
  /** The next CA has been trusted by the API server long enough to take over. */
  promoteNext: boolean;
}

export interface Plan {
  data: SecretData;
  /** What changed and why, one phrase each; empty: nothing to write. */
  changes: string[];
}

/** Renewal is due at 2/3 of the certificate's life. */
export function renewAtMs(x: X509Certificate): number {
  const from = Date.parse(x.validFrom);
  return from + ((Date.parse(x.validTo) - from) * 2) / 3;
}

function parse(pem: string | undefined): X509Certificate | undefined {
  if (!pem) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** A CA pair that signs: parses, key matches, not expired. */
function usableCa(certPem: string | undefined, keyPem: string | undefined, now: number): KeyPair | undefined {
  const x = parse(certPem);
  if (!x || !keyPem || !x.ca || Date.parse(x.validTo) <= now) return undefined;
  const pair = { certPem: certPem!, keyPem };
  return keyMatches(pair) ? pair : undefined;
}

/** The PEM certificates in a bundle, each as its own PEM block. */
export function splitBundle(text: string | undefined): string[] {
  return (
    (text ?? '')
      .match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g)
      ?.map((b) => (b.endsWith('\n') ? b : `${b}\n`)) ?? []
  );
}

const fingerprint = (pem: string): string => parse(pem)?.fingerprint256 ?? pem;

/** Whether the serving certificate covers exactly `hosts`. */
function coversHosts(x: X509Certificate, hosts: string[]): boolean {
  const sans = (x.subjectAltName ?? '')
    .split(', ')
    .map((s) => s.replace(/^(DNS|IP Address):/, ''))
    .sort();
  return JSON.stringify(sans) === JSON.stringify([...hosts].sort());
}

export function plan(current: SecretData, o: PlanOptions): Plan {
  const changes: string[] = [];
  let ca = usableCa(current['ca.crt'], current['ca.key'], o.now);
  let next = usableCa(current['ca-next.crt'], current['ca-next.key'], o.now);
  const makeCa = (): KeyPair => createCa({ commonName: o.caCommonName, lifetimeMs: o.caLifetimeMs, now: o.now });

  if (!ca) {
    if (next) {
      ca = next;
      next = undefined;
      changes.push('the current CA is missing or expired: the next CA takes over');
    } else {
      ca = makeCa();
      changes.push(current['ca.crt'] ? 'the CA is expired or unusable: made a new one' : 'made the CA');
    }
  } else if (next && o.promoteNext) {
    ca = next;
    next = undefined;
    changes.push('CA renewal: the next CA, trusted by the API server, takes over');
  }
  if (!next && o.now >= renewAtMs(new X509Certificate(ca.certPem))) {
    next = makeCa();
    changes.push('CA renewal: made the next CA and added it to the bundle');
  }

  // The bundle: current, next, then earlier CAs until they expire.
  const bundle: string[] = [];
  const seen = new Set<string>();
  for (const pem of [ca.certPem, ...(next ? [next.certPem] : []), ...splitBundle(current['ca-bundle.crt'])]) {
    const x = parse(pem);
    const fp = fingerprint(pem);
    if (!x || seen.has(fp) || Date.parse(x.validTo) <= o.now) continue;
    seen.add(fp);
    bundle.push(pem.endsWith('\n') ? pem : `${pem}\n`);
  }
  const bundleText = bundle.join('');
  if (bundleText !== (current['ca-bundle.crt'] ?? '') && !changes.length)
    changes.push('dropped expired CAs from the bundle');

  let serving: KeyPair | undefined = { certPem: current['tls.crt'] ?? '', keyPem: current['tls.key'] ?? '' };
  const sx = parse(serving.certPem);
  const why =
    !sx || !keyMatches(serving)
      ? 'made the serving certificate'
      : !signedBy(serving.certPem, ca.certPem)
        ? 'the serving certificate is not signed by the current CA: made a new one'
        : !coversHosts(sx, o.hosts)
          ? 'the serving certificate does not name the configured hosts: made a new one'
          : o.now >= renewAtMs(sx)
            ? 'serving certificate renewal (2/3 of its life)'
            : undefined;
  if (why) {
    serving = createServingCertificate({ ca, hosts: o.hosts, lifetimeMs: o.servingLifetimeMs, now: o.now });
    changes.push(why);
  }

  const data: SecretData = {
    'ca.crt': ca.certPem,
    'ca.key': ca.keyPem,
    ...(next ? { 'ca-next.crt': next.certPem, 'ca-next.key': next.keyPem } : {}),
    'ca-bundle.crt': bundleText,
    'tls.crt': serving.certPem,
    'tls.key': serving.keyPem,
  };
  const same = SECRET_KEYS.every((k) => (data[k] ?? '') === (current[k] ?? ''));
  return { data, changes: same ? [] : changes.length ? changes : ['normalised the Secret'] };
}
