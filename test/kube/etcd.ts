// One etcd for every cluster of a launch (each apiserver has its own --etcd-prefix, as
// Kubernetes' integration tests share one): plain HTTP on 127.0.0.1, no fsync, data in the
// launch's temporary folder.
import { mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { logTail, startChild, type Child } from './process.js';
import { sleep } from './http.js';
import { ADDRESS_IN_USE, freePort } from './ports.js';

export interface Etcd {
  url: string;
  child: Child;
}

function healthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/health`, { timeout: 1000, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => resolve(res.statusCode === 200 && /"health":\s*"true"/.test(text)));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function startEtcd(bin: string, dir: string, timeoutMs: number): Promise<Etcd> {
  await mkdir(dir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const [client, peer] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    const logFile = join(dir, `etcd-${attempt}.log`);
    const child = startChild(
      'etcd',
      bin,
      [
        '--name=mesh-cert',
        `--data-dir=${join(dir, `data-${attempt}`)}`,
        `--listen-client-urls=${url}`,
        `--advertise-client-urls=${url}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=mesh-cert=${peerUrl}`,
        '--unsafe-no-fsync',
        '--log-level=warn',
        '--logger=zap',
        '--log-outputs=stderr',
      ],
      logFile,
    );
    const deadline = Date.now() + timeoutMs;
    while (!child.hasExited() && Date.now() < deadline) {
      if (await healthy(url)) return { url, child };
      await sleep(50);
    }
    await child.stop(1000);
    const tail = await logTail(logFile);
    if (ADDRESS_IN_USE.test(tail) && attempt < 3) continue;
    throw new Error(
      `kube: etcd did not become healthy on ${url} within ${timeoutMs} ms (${await child.exited}); its log ends:\n${tail}`,
    );
  }
}
