// A tiny HTTPS admission webhook on 127.0.0.1, registered by URL on both servers, whose answers
// each case chooses, down to the envelope (a response without apiVersion/kind, a patch without
// patchType). It records the AdmissionReview requests it is sent.
import { createServer, type Server } from 'node:https';
import { makeServingCert } from '../sandbox/tls.js';

export interface Answer {
  /** the whole body to send, as is (no envelope, no uid filled in) */
  body?: unknown;
  /** the response, put in an admission.k8s.io/v1 AdmissionReview with the request's uid */
  response?: Record<string, unknown>;
}

export interface Hook {
  url: string;
  caBundle: string;
  /** every AdmissionReview request received, oldest first */
  calls: any[];
  respond: (request: any) => Answer;
  close(): Promise<void>;
}

const ALLOW: Hook['respond'] = () => ({ response: { allowed: true } });

export async function startHook(): Promise<Hook> {
  const tls = await makeServingCert('conformance-webhook');
  const hook: Hook = {
    url: '',
    caBundle: Buffer.from(tls.caPem).toString('base64'),
    calls: [],
    respond: ALLOW,
    close: async () => undefined,
  };
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      let review: { request?: any } = {};
      try {
        review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request?: any };
      } catch {
        /* answer anyway */
      }
      const request = review.request ?? {};
      hook.calls.push(request);
      // probes (ConfigMaps named probe-*) are always allowed: they only show the webhook is live
      const probe =
        request.resource?.resource === 'configmaps' &&
        String(request.name ?? request.object?.metadata?.name ?? '').startsWith('probe-');
      const a = probe ? ALLOW(request) : hook.respond(request);
      const body =
        a.body !== undefined
          ? a.body
          : {
              apiVersion: 'admission.k8s.io/v1',
              kind: 'AdmissionReview',
              response: { uid: request.uid, ...(a.response ?? {}) },
            };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  hook.url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  hook.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return hook;
}
