// What the hook tests share: a server and a client per test (closed after it, with React's
// tree), the provider around a tree, and the board's fold (latest value per sensor).
import type { Client } from '@switchboard/client';
import { SwitchboardProvider } from '@switchboard/react';
import type { MemoryBroker } from '@switchboard/server';
import { cleanup } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterEach } from 'vitest';
import { type AppContract, connect, type Reading, startServer, useChannel } from './fixture.js';

const closers: Array<() => unknown> = [];
afterEach(async () => {
  cleanup();
  for (const close of closers.splice(0).reverse()) await close();
});

/** Runs `close` after the test. */
export function afterTest(close: () => unknown): void {
  closers.push(close);
}

/** A server (on `broker`) and a client of it, both closed after the test. */
export async function setup(broker?: MemoryBroker) {
  const started = await startServer(broker);
  const client = connect(started.port);
  afterTest(() => started.server.close());
  afterTest(() => client.close());
  return { ...started, client };
}

/** `children` under a provider of `client` whose streams end as soon as nobody reads them. */
export function wrap(client: Client<AppContract>, children: ReactNode) {
  return (
    <SwitchboardProvider client={client} keepAliveMs={0}>
      {children}
    </SwitchboardProvider>
  );
}

export const toMap = (readings: Reading[]) => new Map(readings.map((r) => [r.id, r.value]));
export const withReading = (state: Map<string, number>, r: Reading) => new Map(state).set(r.id, r.value);

/** The lab's readings folded into a Map with suspense: shows `status:value of 'a'` under `testId`. */
export function SuspendedReadings({ testId }: { testId: string }) {
  const { data, status } = useChannel(
    'sensors',
    { site: 'lab' },
    { initial: toMap, reduce: withReading, suspense: true },
  );
  return <i data-testid={testId}>{`${status}:${data?.get('a')}`}</i>;
}
