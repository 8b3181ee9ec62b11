// How `inspect` prints its reports as text (-o json and yaml print the reports themselves).
import type { CertReport, CertificateRequestReport, SecretReport } from './inspect.js';

function mark(ok: boolean | null): string {
  return ok === true ? '✓' : ok === false ? '✗' : '?';
}

function renderCert(c: CertReport): string[] {
  if (c.sameAs) return [`  ${c.source}: same certificate as ${c.sameAs}`];
  return [
    `  ${c.source}`,
    `    subject:      ${c.subject || '(empty)'}`,
    `    issuer:       ${c.issuer || '(empty)'}${c.selfSigned ? '  (self-signed)' : ''}`,
    ...(c.sans.length ? [`    SANs:         ${c.sans.join(', ')}`] : []),
    `    validity:     ${c.notBefore} to ${c.notAfter} (${c.daysLeft < 0 ? `expired ${-c.daysLeft} days ago` : `${c.daysLeft} days left`})`,
    `    key:          ${c.keyType} ${c.keyBits} bits`,
    `    CA:           ${c.isCA ? `yes${c.pathLen !== undefined ? `, pathlen ${c.pathLen}` : ', no path length limit'}` : 'no'}${c.keyUsage.length ? `; key usage ${c.keyUsage.join(', ')}` : ''}`,
    `    serial:       ${c.serial}`,
    `    sha256:       ${c.fingerprintSha256}`,
  ];
}

export function renderSecret(r: SecretReport): string {
  const lines = [
    `Secret ${r.namespace}/${r.name} on cluster ${r.cluster}`,
    `  type: ${r.type}   layout: ${r.layout}   keys: ${r.dataKeys.join(', ') || '(none)'}`,
    '',
    `Certificates (${r.certificates.length}):`,
    ...r.certificates.flatMap(renderCert),
  ];
  if (r.privateKeys.length) {
    lines.push('', 'Private keys (not shown):');
    for (const k of r.privateKeys)
      lines.push(
        `  ${k.source}: ${k.keyType} ${k.keyBits} bits${k.matchesCertificate === undefined ? '' : k.matchesCertificate ? ', matches the CA certificate' : ', does NOT match the CA certificate'}`,
      );
  }
  lines.push('', 'Checks:', ...r.checks.map((c) => `  ${mark(c.ok)} ${c.name}: ${c.message}`));
  for (const w of r.warnings) lines.push(`  ! ${w}`);
  return `${lines.join('\n')}\n`;
}

export function renderCertificateRequest(r: CertificateRequestReport): string {
  const lines = [
    `CertificateRequest ${r.namespace}/${r.name} on cluster ${r.cluster}`,
    `  state: ${r.state}   generation: ${r.generation ?? '-'}   observedGeneration: ${r.observedGeneration ?? '-'}${r.error ? `\n  error: ${r.error}` : ''}`,
  ];
  if (r.csr) {
    lines.push(
      '',
      'CSR:',
      `    subject:      ${r.csr.subject || '(empty)'}`,
      `    hosts:        ${r.csr.hosts.join(', ') || '(none)'}`,
      `    key:          ${r.csr.keyType} ${r.csr.keyBits} bits`,
      `    spki sha256:  ${r.csr.spkiSha256}`,
    );
  }
  lines.push('', `Certificates (${r.certificates.length}):`, ...r.certificates.flatMap(renderCert));
  lines.push('', 'Checks:', ...r.checks.map((c) => `  ${mark(c.ok)} ${c.name}: ${c.message}`));
  return `${lines.join('\n')}\n`;
}
