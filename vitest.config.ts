import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*/test/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/docs/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Spawned hubs and edges run the compiled binaries, built here when stale (test/src/build-dist.ts).
    globalSetup: ['test/src/build-dist.ts'],
    reporters: ['default'],
  },
});
