// The webhook as it runs in its pod: the esbuild bundle in a process of its own, with the
// NODE_OPTIONS of manifests/webhook/deployment.yaml, so that its memory is what the pod's would
// be. Used by the attack suite, the restart test on a real apiserver and bench/webhook-attack.ts.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO, tmp } from './helpers.js';

let bundleDir: string | undefined;

/** Builds the bundle once per process, into a folder of its own (webhook/dist is left alone). */
export function webhookBundle(): string {
  if (!bundleDir) {
    const out = tmp('mesh-cert-webhook-build-');
    execFileSync(process.execPath, [join(REPO, 'webhook/build.mjs'), '--outdir', out], { stdio: 'pipe' });
    bundleDir = out;
  }
  return join(bundleDir, 'main.js');
}

/** manifests/webhook/deployment.yaml's Deployment, as plain data. */
function deployment(): any {
  const docs = parseAllDocuments(readFileSync(join(REPO, 'manifests/webhook/deployment.yaml'), 'utf8')).map((d) =>
    d.toJS(),
  );
  return docs.find((d) => d?.kind === 'Deployment');
}

/** The Deployment's container env (NODE_OPTIONS: the heap settings the memory figures assume). */
export function deploymentEnv(): Record<string, string> {
  const container = deployment()?.spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const e of (container?.env ?? []) as { name: string; value?: string }[])
    if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

/** How many replicas the Deployment runs (behind one Service). */
export function deploymentReplicas(): number {
  const n = deployment()?.spec.replicas;
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`manifests/webhook/deployment.yaml: spec.replicas: expected a positive integer, got ${n}`);
  return n;
}

export interface WebhookProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  healthUrl: string;
  output(): string;
  /** Resident memory now, and its peak so far (VmHWM), in MiB. */
  rssMiB(): number;
  peakRssMiB(): number;
  exited(): boolean;
  /** SIGTERM (or `signal`); resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

function status(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Starts the bundle with `args` (ports default to 0) and resolves once it serves. */
export async function startWebhookProcess(args: string[], env: Record<string, string> = {}): Promise<WebhookProcess> {
  const all = [
    ...(args.includes('--port') ? [] : ['--port', '0']),
    ...(args.includes('--health-port') ? [] : ['--health-port', '0']),
    ...args,
  ];
  // setpriv --pdeathsig KILL (as test/kube starts its children): the process dies with the test
  // worker that started it, even one killed on a timeout, instead of serving on forever.
  const argv = [process.execPath, webhookBundle(), ...all];
  const [cmd, ...rest] = existsSync('/usr/bin/setpriv')
    ? ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--', ...argv]
    : argv;
  const child = spawn(cmd!, rest, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KUBERNETES_SERVICE_HOST: '', ...deploymentEnv(), ...env },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const m = await new Promise<RegExpExecArray>((resolve, reject) => {
    const check = (): void => {
      const found = /serving admission on (https:\/\/\S+) .*health and metrics on (http:\/\/\S+)/.exec(out);
      if (found) {
        child.stdout!.off('data', check);
        resolve(found);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) =>
      reject(new Error(`mesh-cert-webhook exited ${code} before serving: ${out.slice(-2000)}`)),
    );
  });
  const pid = child.pid!;
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve((exitCode = code))));
  return {
    child,
    pid,
    url: m[1]!,
    healthUrl: m[2]!,
    output: () => out,
    rssMiB: () => status(pid, 'VmRSS'),
    peakRssMiB: () => status(pid, 'VmHWM'),
    exited: () => exitCode !== undefined,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (exitCode !== undefined) return exitCode;
      child.kill(signal);
      return exited;
    },
  };
}
