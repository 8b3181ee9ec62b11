// webhook/Dockerfile without docker (there is no docker daemon here): its instructions are
// carried out on a copy of the working tree as a fresh clone has it (nothing built, no
// node_modules), each stage in a folder standing for its root filesystem: COPY from the context
// (webhook/Dockerfile.dockerignore applied) or from a stage, RUN with sh in WORKDIR, and the last
// stage's ENTRYPOINT run with this machine's Node 20 as user 65532 on a read-only bind mount of
// that folder, as the Deployment runs it (runAsNonRoot, readOnlyRootFilesystem).
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, copyWorktree, REPO, run, servingCert, tmp } from './helpers.js';

const DOCKERFILE = join(REPO, 'webhook', 'Dockerfile');
const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

interface Instr {
  op: string;
  args: string;
}
interface Stage {
  name?: string;
  image: string;
  root: string;
  workdir: string;
  user?: string;
  entrypoint?: string[];
  runs: number;
  contextCopies: string[];
}

/** Instructions, continuation lines joined, comments dropped. */
export function parseDockerfile(text: string): Instr[] {
  const out: Instr[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      cur += `${line.slice(0, -1)} `;
      continue;
    }
    cur += line;
    const t = cur.trim();
    cur = '';
    if (!t) continue;
    const m = /^(\S+)\s+([\s\S]*)$/.exec(t);
    if (m) out.push({ op: m[1].toUpperCase(), args: m[2].trim() });
  }
  return out;
}

/** .dockerignore patterns to one test: is this context path (or a folder above it) excluded? */
function ignorer(patterns: string[]): (path: string) => boolean {
  const res = patterns
    .map((p) => p.trim())
    .filter((p) => p && !p.startsWith('#'))
    .map((p) => {
      const rx = p
        .replace(/^\/+/, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '\0')
        .replace(/\*\*/g, '\u0001')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')
        .replace(/\0/g, '(?:.*/)?')
        .replace(/\u0001/g, '.*');
      return new RegExp(`^${rx}$`);
    });
  return (path) => {
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) if (res.some((r) => r.test(parts.slice(0, i).join('/')))) return true;
    return false;
  };
}

function subst(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => vars[(a ?? b)!] ?? '');
}

/** Carries out the Dockerfile in `dir` with `context` as the build context; the stages. */
function build(context: string, dir: string, log: string[]): Stage[] {
  const ignored = ignorer(
    existsSync(`${DOCKERFILE}.dockerignore`) ? readFileSync(`${DOCKERFILE}.dockerignore`, 'utf8').split('\n') : [],
  );
  const vars: Record<string, string> = {};
  const stages: Stage[] = [];
  let st: Stage | undefined;
  const inStage = (s: Stage, p: string): string => join(s.root, posix.isAbsolute(p) ? p : posix.join(s.workdir, p));
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  for (const { op, args } of parseDockerfile(readFileSync(DOCKERFILE, 'utf8'))) {
    if (op === 'ARG') {
      const [k, v] = args.split('=');
      if (vars[k] === undefined) vars[k] = v ?? '';
      continue;
    }
    if (op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(subst(args, vars))!;
      st = {
        image: m[1],
        name: m[2],
        root: join(dir, 'stages', String(stages.length)),
        workdir: '/',
        runs: 0,
        contextCopies: [],
      };
      mkdirSync(st.root, { recursive: true });
      stages.push(st);
      continue;
    }
    if (!st) throw new Error(`${op} before FROM`);
    switch (op) {
      case 'WORKDIR':
        st.workdir = posix.resolve(st.workdir, args);
        mkdirSync(join(st.root, st.workdir), { recursive: true });
        break;
      case 'COPY': {
        const words = args.split(/\s+/);
        const flags = words.filter((w) => w.startsWith('--'));
        const rest = words.filter((w) => !w.startsWith('--'));
        const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
        const dest = rest.pop()!;
        const src = from ? stages.find((s) => s.name === from || String(stages.indexOf(s)) === from) : undefined;
        if (from && !src) throw new Error(`COPY --from=${from}: no such stage`);
        if (!from) st.contextCopies.push(...rest);
        const target = inStage(st, dest);
        for (const s of rest) {
          const path = src ? join(src.root, s) : join(context, s);
          if (!existsSync(path))
            throw new Error(
              `COPY ${args}: ${s} does not exist ${src ? `in stage ${from}` : 'in the context (a fresh clone)'}`,
            );
          if (statSync(path).isDirectory()) {
            mkdirSync(target, { recursive: true });
            cpSync(path, target, {
              recursive: true,
              filter: (p) => src !== undefined || !ignored(p.slice(context.length + 1)) || p === path,
            });
          } else {
            const to = dest.endsWith('/') || rest.length > 1 ? join(target, basename(s)) : target;
            mkdirSync(join(to, '..'), { recursive: true });
            copyFileSync(path, to);
          }
        }
        break;
      }
      case 'RUN': {
        // only WORKDIR is mapped: an absolute path in a RUN would be this machine's
        const abs = /(?:^|[\s'"=>])\/(?!dev\/null\b)/.exec(args);
        if (abs)
          throw new Error(`RUN ${args}: absolute paths cannot be carried out here (keep them relative to WORKDIR)`);
        const t0 = Date.now();
        const cmd = args.startsWith('[') ? (JSON.parse(args) as string[]) : ['sh', '-c', args];
        const npmCache = run('npm', ['config', 'get', 'cache']).stdout.trim();
        run(cmd[0], cmd.slice(1), {
          cwd: join(st.root, st.workdir),
          env: {
            PATH: process.env.PATH,
            HOME: home,
            npm_config_cache: npmCache,
            npm_config_prefer_offline: 'true',
            npm_config_update_notifier: 'false',
          },
        });
        log.push(`RUN ${args.slice(0, 60)}...: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        st.runs++;
        break;
      }
      case 'USER':
        st.user = args;
        break;
      case 'ENTRYPOINT':
        st.entrypoint = JSON.parse(args) as string[];
        break;
      case 'EXPOSE':
      case 'ENV':
      case 'LABEL':
      case 'CMD':
        break;
      default:
        throw new Error(`the test does not know ${op}`);
    }
  }
  return stages;
}

function files(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}

describe('webhook/Dockerfile', () => {
  let dir: string;
  let stages: Stage[];
  let image: Stage;
  const log: string[] = [];

  beforeAll(() => {
    dir = tmp('docker');
    chmodSync(dir, 0o755); // user 65532 must reach the image's folder
    const context = join(dir, 'context');
    copyWorktree(context);
    const t0 = Date.now();
    stages = build(context, dir, log);
    image = stages[stages.length - 1];
    process.stdout.write(`Dockerfile steps: ${((Date.now() - t0) / 1000).toFixed(0)} s (${log.join('; ')})\n`);
  }, 900_000);
  afterAll(() => cleanup(dir));

  it('is multi-stage and builds from the clone: the image stage takes nothing from the context and runs nothing', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0].runs).toBeGreaterThan(0);
    expect(image.contextCopies).toEqual([]);
    expect(image.runs).toBe(0);
    expect(image.image).toMatch(/^gcr\.io\/distroless\/nodejs20-debian12:nonroot$/);
    expect(image.user).toBe('65532:65532');
    expect(image.entrypoint?.[0]).toBe('/nodejs/bin/node');
  });

  it('holds the bundle and nothing else: no sources, no maps, no node_modules', () => {
    const all = files(image.root);
    expect(all).toContain('app/package.json');
    expect(all).toContain('app/webhook/bin/mesh-cert-webhook');
    expect(all).toContain('app/webhook/dist/main.js');
    expect(all.filter((f) => /\.(map|ts)$|node_modules|\/src\//.test(f))).toEqual([]);
    expect(JSON.parse(readFileSync(join(image.root, 'app/package.json'), 'utf8'))).toEqual({ type: 'module' });
  });

  /** The entrypoint as user 65532 on a read-only bind mount of the image's root folder. */
  function entrypoint(args: string[]): { cmd: string; args: string[] } {
    const [exe, ...rest] = image.entrypoint!;
    const argv = [
      exe === '/nodejs/bin/node' ? process.execPath : exe,
      ...rest.map((a) => (a.startsWith('/') ? join(image.root, a) : a)),
      ...args,
    ];
    const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    const script = `mount --bind ${q(image.root)} ${q(image.root)} && mount -o remount,bind,ro ${q(image.root)} && cd ${q(join(image.root, image.workdir))} && exec setpriv --reuid=65532 --regid=65532 --clear-groups -- ${argv.map(q).join(' ')}`;
    return { cmd: 'unshare', args: ['-m', '--', 'sh', '-c', script] };
  }

  it('runs as 65532 on a read-only root: --version', () => {
    expect(process.versions.node.split('.')[0]).toBe('20');
    const e = entrypoint(['--version']);
    expect(run(e.cmd, e.args).stdout).toBe(`mesh-cert-webhook ${version}\n`);
  });

  it('serves as 65532 on a read-only root, ready, with its build_info', async () => {
    const certs = join(dir, 'certs');
    mkdirSync(certs, { mode: 0o755 });
    const { cert, key } = servingCert(certs);
    chmodSync(key, 0o644);
    const before = files(image.root);
    const e = entrypoint([
      '--port=0',
      '--health-port=0',
      `--tls-cert-file=${cert}`,
      `--tls-private-key-file=${key}`,
      '--log-level=warn',
    ]);
    const child = spawn(e.cmd, e.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      const healthUrl = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start in 30 s: ${out}`)), 30_000);
        const onData = (c: Buffer): void => {
          out += c.toString();
          const m = /health and metrics on (http:\/\/\S+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.on('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`exited ${code}: ${out}`));
        });
      });
      let ready = 0;
      for (let i = 0; i < 50 && ready !== 200; i++) {
        ready = (await fetch(`${healthUrl}/readyz`)).status;
        if (ready !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      expect(ready).toBe(200);
      expect(await (await fetch(`${healthUrl}/metrics`)).text()).toContain(
        `mesh_cert_webhook_build_info{version="${version}",`,
      );
    } finally {
      child.kill('SIGKILL');
    }
    expect(files(image.root)).toEqual(before);
  });
});
