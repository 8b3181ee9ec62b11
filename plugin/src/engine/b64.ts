// Secret.data and the API's `bytes` fields hold base64.
export const toB64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
export const fromB64 = (b64: string | undefined): string => (b64 ? Buffer.from(b64, 'base64').toString('utf8') : '');
