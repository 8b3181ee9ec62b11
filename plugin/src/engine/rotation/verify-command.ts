// --verify-command: the user's own connectivity check, run through the shell with the clusters
// in the environment; exit 0 confirms the step. Its output goes to stderr (stdout is data).
import { spawn } from 'node:child_process';
import type { Verifier } from './verifier.js';

export function commandVerifier(command: string, env: Record<string, string> = {}): Verifier {
  return ({ clusters, after, rotation }) =>
    new Promise((resolve) => {
      const child = spawn('/bin/sh', ['-c', command], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          ...env,
          MESH_CERT_CLUSTERS: clusters.join(','),
          MESH_CERT_STEP: after,
          MESH_CERT_ROTATION: `${rotation.metadata.namespace}/${rotation.metadata.name}`,
          MESH_CERT_VIRTUAL_MESH: `${rotation.spec.virtualMesh.namespace}/${rotation.spec.virtualMesh.name}`,
        },
      });
      child.stdout.pipe(process.stderr, { end: false });
      child.stderr.pipe(process.stderr, { end: false });
      child.on('error', (err) =>
        resolve({ ok: false, reason: `--verify-command could not be started: ${err.message}` }),
      );
      child.on('close', (code, signal) =>
        resolve(
          code === 0
            ? { ok: true, message: `--verify-command exited 0` }
            : {
                ok: false,
                reason: `--verify-command "${command}" ${signal ? `was killed by ${signal}` : `exited ${code}`}`,
              },
        ),
      );
    });
}
