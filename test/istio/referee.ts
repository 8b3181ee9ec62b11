// Runs the Istio referee (referee/main.go, built by ensure.ts) on clusters' `cacerts` Secret data.
// Asynchronous on purpose: the sandbox's clusters run in this process, so a blocking call would
// starve them.
import { spawn } from 'node:child_process';
import { findReferee } from './ensure.js';

export interface ClusterResult {
  /** istiod would start its plugged-in CA from this Secret, and that CA signed a workload certificate */
  loaded: boolean;
  /** which files istiod loads: the four `*.pem` keys, or tls.crt/tls.key/ca.crt (which win when tls.crt exists) */
  layout?: 'istiod' | 'tls';
  error?: string;
  warnings?: string[];
  /** the workload's SPIFFE identity, and the subjects of the chain istiod sends with its certificate (leaf first) */
  workload?: string;
  chain?: string[];
  /** the issuer of the CA certificate istiod signs with (ca-cert.pem, or tls.crt) */
  caIssuer?: string;
  /** subjects of the roots istiod distributes to its workloads (root-cert.pem) */
  roots?: string[];
}

export interface PairResult {
  /** the cluster whose workload certificate (with its chain) is verified */
  from: string;
  /** the cluster whose roots it is verified against */
  to: string;
  ok: boolean;
  error?: string;
}

export interface Report {
  /** the istio.io/istio module version the referee was built against */
  istio: string;
  clusters: Record<string, ClusterResult>;
  pairs: PairResult[];
  /** the referee's verdict (exit code 0): every cluster loaded and every ordered pair verified */
  ok: boolean;
}

/**
 * Feeds the referee `cacerts` Secrets' data (cluster name -> Secret.data, base64 values). Throws
 * when the referee is not built (with the command that builds it) or cannot read its input.
 */
export async function runReferee(
  clusters: Record<string, Record<string, string>>,
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Report> {
  const bin = findReferee(opts.env);
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['-'], { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8').trim();
      if (code !== 0 && code !== 1) {
        reject(
          new Error(`istio referee ${bin} failed with ${signal ?? `exit code ${code}`}${stderr ? `: ${stderr}` : ''}`),
        );
        return;
      }
      try {
        const report = JSON.parse(Buffer.concat(out).toString('utf8')) as Omit<Report, 'ok'>;
        resolve({ ...report, ok: code === 0 });
      } catch (e) {
        reject(
          new Error(
            `istio referee ${bin}: unreadable report (${(e as Error).message})${stderr ? `; stderr: ${stderr}` : ''}`,
          ),
        );
      }
    });
    child.stdin.on('error', () => {
      /* reported through close */
    });
    child.stdin.end(JSON.stringify(clusters));
  });
}

/** One line per failure, for assertion messages. */
export function failures(r: Report): string[] {
  return [
    ...Object.entries(r.clusters)
      .filter(([, c]) => !c.loaded)
      .map(([n, c]) => `${n} did not load: ${c.error}`),
    ...r.pairs.filter((p) => !p.ok).map((p) => `${p.from}'s workload against ${p.to}'s roots: ${p.error}`),
  ];
}
