import { defineConfig } from 'vitest/config';

// Tests start real HTTPS servers, openssl and kubectl; two cores is the CI machine, so run
// files in parallel but give each test room for process start-up.
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
