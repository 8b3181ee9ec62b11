// Free TCP ports on 127.0.0.1: bind to port 0, read the port, close. Another process could take
// it before our child binds it; the callers retry on "address already in use".
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export const ADDRESS_IN_USE = /address already in use/i;
