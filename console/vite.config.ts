import { defineConfig } from 'vite';

// The hub serves the build at /console/ (hub/src/api/console.ts); nothing is loaded from elsewhere.
export default defineConfig({
  base: '/console/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // One small bundle: a modulepreload polyfill would be an inline script, which the page's policy forbids.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  // The CLI's CSV parser (hub/src/cli/csv.ts) imports csv-parse for Node; the browser takes its
  // self-contained build, which carries its own Buffer.
  resolve: { alias: { 'csv-parse/sync': 'csv-parse/browser/esm/sync' } },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
