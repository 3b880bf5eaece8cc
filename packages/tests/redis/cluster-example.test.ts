import { describe, expect, it } from 'vitest';
import { runClusterDemo } from '../../../examples/cluster/run.js';
import { useRedisServer } from '../support/redis-server.js';

const { available, redis } = useRedisServer();

describe.skipIf(!available)('examples/cluster', () => {
  it('runs three nodes behind the round-robin proxy: messages cross nodes, a killed node’s client resumes elsewhere', async () => {
    const lines: string[] = [];
    const result = await runClusterDemo((line) => lines.push(line), { redisUrl: redis.url });
    expect(result.received).toEqual(result.sent);
    expect(result.gaps).toBe(0);
    expect(result.movedTo).not.toBe(result.movedFrom);
    expect(lines.some((line) => line.includes('6 of 6 messages, in order: yes, gaps: 0'))).toBe(true);
  }, 40_000);
});
