// The serving certificate: where it comes from (TlsSource), and the files source (--tls-mode
// files), reloaded when they change on disk. A mounted Secret rotates by swapping the `..data`
// symlink inside its directory, so we watch the directories (not the files, whose inodes the swap
// leaves behind) and also poll, since inotify does not cross every volume type. The other source,
// a Secret read through the API (--tls-mode self), is cert-controller/secret-tls-source.ts; both
// build their material with tlsMaterialOf.
import { constants, createHash, X509Certificate } from 'node:crypto';
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
}

export interface TlsMaterial {
  options: SecureContextOptions;
  /** sha256 over the file contents, to notice a change. */
  digest: string;
  notAfter: Date;
  subject: string;
}

export class TlsError extends Error {}

/**
 * TLS 1.2 suites with forward secrecy (ECDHE) and an AEAD cipher (GCM, ChaCha20-Poly1305) only,
 * the ones Go's crypto/tls (kube-apiserver) prefers; and the three TLS 1.3 suites (all AEAD, all
 * ephemeral). No CBC, no static RSA key exchange, no SHA-1 MACs. Named in one list because Node
 * takes both versions' suites from `ciphers` (a list without TLS_* names turns TLS 1.3 off).
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Key exchange groups offered, fastest first. */
export const TLS_ECDH_CURVES = 'X25519:P-256:P-384';

/**
 * The protocol options every serving context carries (first one and every reload alike). No
 * session tickets: kube-apiserver's client keeps no session cache, so it never resumes, and
 * issuing the two TLS 1.3 tickets cost a fifth of every handshake.
 */
export const TLS_PROTOCOL_OPTIONS = {
  minVersion: 'TLSv1.2',
  ciphers: TLS_CIPHERS,
  ecdhCurve: TLS_ECDH_CURVES,
  honorCipherOrder: true,
  secureOptions: constants.SSL_OP_NO_TICKET,
} as const satisfies SecureContextOptions;

function readFile(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new TlsError(`${flag} ${file}: cannot read it (${code})`);
  }
}

/** The PEM bytes a serving context is made of, and a digest over them to notice a change. */
export interface TlsBytes {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  digest: string;
}

export function tlsBytes(cert: Buffer, key: Buffer, ca?: Buffer): TlsBytes {
  const digest = createHash('sha256')
    .update(cert)
    .update('\0')
    .update(key)
    .update('\0')
    .update(ca ?? '')
    .digest('hex');
  return { cert, key, ca, digest };
}

function readTlsFiles(files: TlsFiles): TlsBytes {
  const cert = readFile('--tls-cert-file', files.certFile);
  const key = readFile('--tls-private-key-file', files.keyFile);
  const ca = files.clientCaFile ? readFile('--client-ca-file', files.clientCaFile) : undefined;
  return tlsBytes(cert, key, ca);
}

/** Where each part came from, for error messages (which never quote the content). */
export interface TlsLabels {
  cert: string;
  key: string;
  ca?: string;
}

/** Checks the bytes make a serving context; errors name where they came from. */
export function tlsMaterialOf(bytes: TlsBytes, labels: TlsLabels): TlsMaterial {
  const { cert, key, ca, digest } = bytes;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new TlsError(`${labels.cert}: not a PEM certificate`);
  }
  const options: SecureContextOptions = { cert, key, ...TLS_PROTOCOL_OPTIONS };
  if (ca) options.ca = ca;
  try {
    createSecureContext(options);
  } catch (err) {
    // OpenSSL's reason ("key values mismatch", "no start line") names no key material.
    const reason = err instanceof Error ? err.message.replace(/-----BEGIN[\s\S]*/g, '').slice(0, 200) : 'invalid';
    throw new TlsError(`${labels.cert} / ${labels.key}${ca ? ` / ${labels.ca ?? 'client CA'}` : ''}: ${reason}`);
  }
  return { options, digest, notAfter: new Date(x509.validTo), subject: x509.subject.replace(/\n/g, ', ') };
}

const fileLabels = (files: TlsFiles): TlsLabels => ({
  cert: `--tls-cert-file ${files.certFile}`,
  key: `--tls-private-key-file ${files.keyFile}`,
  ca: files.clientCaFile ? `--client-ca-file ${files.clientCaFile}` : undefined,
});

/** Reads and checks the files; errors name the file and never quote its content. */
export function loadTlsMaterial(files: TlsFiles, read = readTlsFiles(files)): TlsMaterial {
  return tlsMaterialOf(read, fileLabels(files));
}

/** The client CA file's bytes (--client-ca-file), for a source other than files. */
export function readClientCa(file: string | undefined): Buffer | undefined {
  return file ? readFile('--client-ca-file', file) : undefined;
}

/**
 * Where the serving certificate comes from. The server serves current() from the start and swaps
 * in each material onReload hands it; onError reports material that changed but does not load
 * (the previous one is kept).
 */
export interface TlsSource {
  current(): TlsMaterial;
  start(events: TlsWatcherEvents): void;
  stop(): void;
}

export interface TlsWatcherEvents {
  onReload(m: TlsMaterial): void;
  onError(err: Error): void;
}

/** The files source (--tls-mode files): the files as they are now, then each valid change. */
export class TlsWatcher implements TlsSource {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private lastFailedDigest = '';
  private material: TlsMaterial;
  private events: TlsWatcherEvents = { onReload: () => undefined, onError: () => undefined };

  /** Loads the files at once: a TlsError names the one that does not load. */
  constructor(
    private readonly files: TlsFiles,
    private readonly pollMs = 10_000,
  ) {
    this.material = loadTlsMaterial(files);
  }

  current(): TlsMaterial {
    return this.material;
  }

  start(events: TlsWatcherEvents): void {
    this.events = events;
    const dirs = new Set(
      [this.files.certFile, this.files.keyFile, this.files.clientCaFile]
        .filter((f): f is string => !!f)
        .map((f) => dirname(f)),
    );
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => this.schedule());
        w.on('error', () => undefined); // the poll still covers it
        this.watchers.push(w);
      } catch {
        // not watchable (missing, or a filesystem without inotify): polling covers it
      }
    }
    this.timer = setInterval(() => this.check(), this.pollMs);
    this.timer.unref();
  }

  stop(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
  }

  private schedule(): void {
    // A Secret update writes several files then swaps one symlink: wait for the burst to end.
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.check(), 50);
    this.debounce.unref();
  }

  /** Re-reads the files; swaps the context when they changed and are valid together. */
  check(): void {
    let next: TlsMaterial;
    try {
      // Unchanged files are the common case: compare digests before building a secure context,
      // which parses the key (milliseconds, on the event loop serving reviews).
      const read = readTlsFiles(this.files);
      if (read.digest === this.material.digest && this.lastFailedDigest === '') return;
      next = loadTlsMaterial(this.files, read);
    } catch (err) {
      // Mid-rotation the cert and key can briefly disagree: keep serving the old pair and report
      // each distinct failure once.
      const msg = err instanceof Error ? err.message : String(err);
      if (msg !== this.lastFailedDigest) {
        this.lastFailedDigest = msg;
        this.events.onError(err instanceof Error ? err : new Error(msg));
      }
      return;
    }
    this.lastFailedDigest = '';
    if (next.digest === this.material.digest) return;
    this.material = next;
    this.events.onReload(next);
  }
}
