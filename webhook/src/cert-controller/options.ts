// The command-line values of the certificate controller, checked: durations, names, hosts.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

export class OptionError extends Error {}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "40s", "87600h", "365d", "1500ms" as milliseconds; errors name the flag and what is expected. */
export function durationMs(flag: string, value: string | undefined, dflt: string): number {
  const v = value ?? dflt;
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(v);
  const ms = m ? Number(m[1]) * UNIT_MS[m[2]!]! : NaN;
  if (!m || !(ms > 0) || ms > 100 * 365 * UNIT_MS.d!)
    throw new OptionError(
      `${flag}: expected a duration such as 40s, 90m, 8760h or 365d (more than 0, at most 100 years), got ${JSON.stringify(v)}`,
    );
  return ms;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS-1123 name (an object name, a namespace). */
export function objectName(flag: string, value: string): string {
  if (value.length > 253 || !value.split('.').every((l) => DNS_LABEL.test(l)))
    throw new OptionError(
      `${flag}: expected a lowercase DNS-1123 name (a-z, 0-9, '-', '.'), got ${JSON.stringify(value)}`,
    );
  return value;
}

/** An extra subjectAltName: a DNS name or an IP address. */
export function host(flag: string, value: string): string {
  if (isIP(value)) return value;
  if (value.length > 253 || !value.split('.').every((l) => /^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/i.test(l)))
    throw new OptionError(`${flag}: expected a DNS name or an IP address, got ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

/** The names a Service is called by inside the cluster. */
export function serviceHosts(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** --namespace, else the pod's own namespace, else an error naming the flag. */
export function namespaceOf(flag: string, value: string | undefined): string {
  if (value) return objectName(flag, value);
  try {
    return objectName(flag, readFileSync(SA_NAMESPACE, 'utf8').trim());
  } catch {
    throw new OptionError(
      `${flag}: required outside a pod (where ${SA_NAMESPACE} gives it): the namespace of the certificate Secret and the Lease`,
    );
  }
}
