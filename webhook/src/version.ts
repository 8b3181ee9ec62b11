// The version the webhook reports (--version, the mesh_cert_webhook_build_info metric):
// package.json's, put in by webhook/build.mjs when bundling; read from package.json when the
// sources run unbundled (tsx, tests).
import { readFileSync } from 'node:fs';

declare const __MESH_CERT_VERSION__: string | undefined;

function fromPackageJson(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
      .version;
  } catch {
    return '0.0.0-dev';
  }
}

export const VERSION: string = typeof __MESH_CERT_VERSION__ === 'string' ? __MESH_CERT_VERSION__ : fromPackageJson();
