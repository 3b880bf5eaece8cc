// The fresh app's test of its own router with the testing kit: in memory, on a fake clock.
import { defineRouter } from '@switchboard/server';
import { createTestPair } from '@switchboard/testing';
import { contract } from './contract.js';

export async function kitCall(): Promise<number> {
  const router = defineRouter(contract, { procedures: { add: ({ input }) => input.a + input.b } });
  const pair = await createTestPair({ router });
  try {
    pair.link.cut();
    await pair.whenState('reconnecting');
    pair.link.restore();
    await pair.clock.advance(60_000);
    await pair.whenState('open');
    return await pair.client.call('add', { a: 2, b: 3 });
  } finally {
    await pair.close();
  }
}
