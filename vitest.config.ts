import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));

// Tests run against the TypeScript sources, so `npm test` needs no build first.
const alias = {
  '@switchboard/server/transport': src('server/src/transport/index.ts'),
  '@switchboard/server': src('server/src/index.ts'),
  '@switchboard/contract': src('contract/src/index.ts'),
  '@switchboard/client': src('client/src/index.ts'),
  '@switchboard/redis': src('redis/src/index.ts'),
};

export default defineConfig({
  resolve: { alias },
  test: {
    reporters: ['default', './scripts/summary-reporter.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    projects: [
      { extends: true, test: { name: 'contract', root: 'packages/contract', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'server', root: 'packages/server', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'client', root: 'packages/client', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'redis', root: 'packages/redis', include: ['test/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'tests', root: 'packages/tests', include: ['**/*.test.ts'], exclude: ['**/node_modules/**'] },
      },
    ],
  },
});
