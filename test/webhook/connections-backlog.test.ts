// --listen-backlog: the admission port's accept queue as the kernel reports it (`ss`: Send-Q of
// a listening socket is its backlog), for the bundle as the Deployment runs it.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { genServingCert } from './helpers.js';
import { startWebhookProcess, webhookBundle, type WebhookProcess } from './webhook-process.js';

/** The backlog the kernel holds for the socket listening on `port`. */
function backlogOf(port: string): number {
  const line = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim();
  const sendQ = line.split(/\s+/)[2];
  if (!sendQ) throw new Error(`ss shows no socket listening on port ${port}: ${JSON.stringify(line)}`);
  return Number(sendQ);
}

describe('--listen-backlog', () => {
  const cert = genServingCert();
  const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  let running: WebhookProcess | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });
  const serve = async (extra: string[]): Promise<string> => {
    running = await startWebhookProcess([
      '--tls-cert-file',
      cert.certFile,
      '--tls-private-key-file',
      cert.keyFile,
      '--log-level',
      'warn',
      ...extra,
    ]);
    return new URL(running.url).port;
  };

  it('is 4096 by default, as far as net.core.somaxconn allows', async () => {
    expect(backlogOf(await serve([]))).toBe(Math.min(4096, somaxconn));
  });

  it('is what the flag says', async () => {
    expect(backlogOf(await serve(['--listen-backlog', '100']))).toBe(Math.min(100, somaxconn));
  });

  it('refuses a value that is not a whole number from 1, naming the flag', () => {
    for (const bad of ['0', 'many', '1.5']) {
      const r = spawnSync(
        process.execPath,
        [
          webhookBundle(),
          '--tls-cert-file',
          cert.certFile,
          '--tls-private-key-file',
          cert.keyFile,
          '--listen-backlog',
          bad,
        ],
        { encoding: 'utf8' },
      );
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`--listen-backlog: expected a whole number from 1, got ${JSON.stringify(bad)}`);
    }
  });
});
