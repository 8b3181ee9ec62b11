// The signing hot path splices DER with derTlv instead of jsrsasign objects: it must encode
// exactly as jsrsasign does, at every length-encoding boundary.
import { describe, expect, it } from 'vitest';
import { der, derTlv } from '../../schemas/pki/asn1.js';

describe('derTlv', () => {
  it('matches jsrsasign byte for byte at the length boundaries', () => {
    for (const n of [0, 1, 127, 128, 255, 256, 1000, 65535, 65536, 70000]) {
      const content = Buffer.alloc(n, 0xab);
      expect(derTlv(0x04, [content]).toString('hex'), `length ${n}`).toBe(der({ octstr: { hex: content.toString('hex') } }));
    }
  });

  it('concatenates parts as the content of a constructed type', () => {
    const a = Buffer.from(der({ int: 5 }), 'hex');
    const b = Buffer.from(der({ utf8str: { str: 'gloo-mesh' } }), 'hex');
    expect(derTlv(0x30, [a, b]).toString('hex')).toBe(der({ seq: [{ int: 5 }, { utf8str: { str: 'gloo-mesh' } }] }));
  });
});
