// Real openssl as the referee for everything schemas/x509 produces and reads.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export class Workdir {
  readonly dir = mkdtempSync(join(tmpdir(), 'mesh-cert-pki-'));
  private n = 0;

  /** Write `text` to a fresh file and return its path. */
  file(text: string, name?: string): string {
    const p = join(this.dir, name ?? `f${this.n++}.pem`);
    writeFileSync(p, text);
    return p;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  read(name: string): string {
    return readFileSync(join(this.dir, name), 'utf8');
  }

  openssl(args: string[], input?: string): Run {
    const r = spawnSync('openssl', args, { cwd: this.dir, encoding: 'utf8', input });
    if (r.error) throw r.error;
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** openssl and fail the test with its stderr when it does not exit 0. */
  ok(args: string[], input?: string): string {
    const r = this.openssl(args, input);
    if (r.code !== 0) throw new Error(`openssl ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /**
   * `openssl verify -CAfile roots -untrusted chain cert` (optionally -attime): does openssl accept
   * the chain? Returns the exit code's verdict and its output for diagnostics.
   */
  verify(opts: { certPem: string; chainPems?: string[]; rootPems: string[]; at?: Date }): {
    ok: boolean;
    output: string;
  } {
    const args = ['verify', '-CAfile', this.file(opts.rootPems.join(''))];
    if (opts.chainPems?.length) args.push('-untrusted', this.file(opts.chainPems.join('')));
    if (opts.at) args.push('-attime', String(Math.floor(opts.at.getTime() / 1000)));
    args.push(this.file(opts.certPem));
    const r = this.openssl(args);
    return { ok: r.code === 0, output: r.stdout + r.stderr };
  }

  /**
   * `openssl req -verify`: OpenSSL 3.0 prints "verify failure" yet exits 0 on a bad self-signature,
   * so the verdict is its exit code and its "verify OK" line together.
   */
  reqVerify(csrPem: string): { ok: boolean; output: string } {
    const r = this.openssl(['req', '-verify', '-noout', '-in', this.file(csrPem)]);
    const output = r.stdout + r.stderr;
    return { ok: r.code === 0 && /self-signature verify OK/.test(output) && !/verify failure/.test(output), output };
  }

  /** `openssl x509 -noout -text` of a PEM certificate. */
  text(certPem: string): string {
    return this.ok(['x509', '-noout', '-text', '-in', this.file(certPem)]);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The certificate with one bit of its signature flipped (the last byte of the DER is signature). */
export function tamperSignature(certPem: string): string {
  const b64 = certPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  const der = Buffer.from(b64, 'base64');
  der[der.length - 1] ^= 0x01;
  const out = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${out.endsWith('\n') ? out : out + '\n'}-----END CERTIFICATE-----\n`;
}

export const DAY = 24 * 60 * 60 * 1000;
