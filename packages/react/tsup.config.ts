import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', query: 'src/query.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  external: ['react', '@tanstack/react-query', 'use-sync-external-store'],
});
