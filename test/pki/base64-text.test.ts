// The one codec for base64 values (Secret.data, the API's `bytes` fields): strict, and an error
// that names the Secret key or field and says what was expected.
import { describe, expect, it } from 'vitest';
import { base64Text, secretText, textBase64 } from '#schemas/x509/pem.js';

const EXPECTED = 'expected standard base64 (A-Z, a-z, 0-9, +, /, padded with =, no line breaks)';

describe('base64Text', () => {
  it('round-trips text and reads an absent or empty value as empty', () => {
    expect(base64Text(textBase64('-----BEGIN CERTIFICATE-----\né\n'), 'x')).toBe('-----BEGIN CERTIFICATE-----\né\n');
    expect(base64Text(undefined, 'x')).toBe('');
    expect(base64Text('', 'x')).toBe('');
  });

  it('refuses what a lenient decoder would read as something, naming the field', () => {
    // Unpadded, URL-safe, a line break, a character outside the alphabet: Buffer.from reads all four.
    for (const bad of ['QUJDRA', 'QUJD-_8=', 'QUJD\nRA==', 'QUJD!A==']) {
      expect(() => base64Text(bad, 'status.signedCertificate')).toThrow(`status.signedCertificate: ${EXPECTED}`);
    }
  });
});

describe('secretText', () => {
  it('names the Secret and the key in its error', () => {
    const secret = {
      metadata: { namespace: 'istio-system', name: 'cacerts' },
      data: { 'ca-cert.pem': textBase64('pem'), 'root-cert.pem': 'not base64' },
    };
    expect(secretText(secret, 'ca-cert.pem')).toBe('pem');
    expect(secretText(secret, 'cert-chain.pem')).toBe('');
    expect(() => secretText(secret, 'root-cert.pem')).toThrow(`Secret istio-system/cacerts root-cert.pem: ${EXPECTED}`);
  });
});
