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
  '@switchboard/testing': src('testing/src/index.ts'),
  '@switchboard/react/query': src('react/src/query.ts'),
  '@switchboard/react': src('react/src/index.ts'),
};

/**
 * Suites that load the machine (child processes, a browser, hundreds of connections, CPU
 * and memory measured): they run after the others, one file at a time, so that neither
 * they nor the rest run beside a load they did not make.
 */
const HEAVY = [
  'resilience/**/*.test.ts',
  'browser/**/*.test.ts',
  'conformance/**/*.test.ts',
  'redis/cluster*.test.ts',
  'examples/chat-example.test.ts',
  'redis/stream-failover.test.ts',
  'transport/advisories.test.ts',
  'security/budget.test.ts',
  'security/slow-reader.test.ts',
  'security/hostile-envelopes.test.ts',
  'sessions/refresh-load.test.ts',
  'adoption/**/*.test.ts',
  'docs/api-reference.test.ts',
];

export default defineConfig({
  resolve: { alias },
  test: {
    reporters: ['default', './scripts/summary-reporter.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    restoreMocks: true,
    unstubGlobals: true,
    unstubEnvs: true,
    projects: [
      { extends: true, test: { name: 'contract', root: 'packages/contract', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'server', root: 'packages/server', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'client', root: 'packages/client', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'redis', root: 'packages/redis', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'testing', root: 'packages/testing', include: ['test/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'react', root: 'packages/react', include: ['test/**/*.test.{ts,tsx}'], environment: 'happy-dom' },
      },
      {
        extends: true,
        test: {
          name: 'tests',
          root: 'packages/tests',
          include: ['**/*.test.ts'],
          exclude: ['**/node_modules/**', ...HEAVY],
        },
      },
      {
        extends: true,
        test: {
          name: 'heavy',
          root: 'packages/tests',
          include: HEAVY,
          exclude: ['**/node_modules/**'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          // Type-only tests: checked by the compiler, never run (they count as type tests).
          name: 'types',
          root: 'packages/tests',
          include: [],
          typecheck: { enabled: true, only: true, include: ['types/**/*.test-d.ts'], tsconfig: '../../tsconfig.json' },
        },
      },
    ],
  },
});
