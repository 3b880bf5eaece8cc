import {
  type ContractFingerprint,
  channel,
  contractFingerprint,
  defineContract,
  procedure,
} from '@switchboard/contract';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { skewOf } from '../../src/rpc/contract-skew.js';

// The comparison at admission (docs/deploy-skew.md): which names of a client's fingerprint
// differ from the server's contract, why, and what a call or subscribe of each then gets.

const server = defineContract({
  procedures: {
    same: procedure({ input: z.string(), output: z.string() }),
    output: procedure({ input: z.string(), output: z.number() }),
    input: procedure({ input: z.string().min(3), output: z.string() }),
  },
  channels: {
    same: channel({ params: z.object({}), message: z.string() }),
    message: channel({ params: z.object({}), message: z.number() }),
    snapshot: channel({ params: z.object({}), message: z.string(), snapshot: z.string() }),
    params: channel({ params: z.object({ room: z.string() }), message: z.string() }),
  },
});

const client = defineContract({
  procedures: {
    same: procedure({ input: z.string(), output: z.string() }),
    output: procedure({ input: z.string(), output: z.string() }),
    input: procedure({ input: z.string(), output: z.string() }),
    gone: procedure({ input: z.string(), output: z.string() }),
  },
  channels: {
    same: channel({ params: z.object({}), message: z.string() }),
    message: channel({ params: z.object({}), message: z.string() }),
    snapshot: channel({ params: z.object({}), message: z.string() }),
    params: channel({ params: z.object({}), message: z.string() }),
    gone: channel({ params: z.object({}), message: z.string() }),
  },
});

describe('skewOf', () => {
  it('finds nothing when the client was built with the server’s contract', () => {
    expect(skewOf(server, contractFingerprint(server))).toBeUndefined();
    expect(skewOf(server, { procedures: {}, channels: {} })).toBeUndefined();
  });

  it('names what is gone, what changed and what changed in its input only', () => {
    expect(skewOf(server, contractFingerprint(client))?.report()).toEqual({
      procedures: { output: 'changed', input: 'input-changed', gone: 'removed' },
      channels: { message: 'changed', snapshot: 'changed', params: 'input-changed', gone: 'removed' },
    });
  });

  it('refuses calls and subscribes of removed or changed names with RELOAD_REQUIRED and why', () => {
    const skew = skewOf(server, contractFingerprint(client));
    const gone = skew?.refuseCall('gone');
    expect(gone?.code).toBe('RELOAD_REQUIRED');
    expect(gone?.data).toEqual({ reason: 'removed', name: 'gone' });
    expect(gone?.message).toBe("procedure 'gone' no longer exists on the server: reload the client");
    expect(skew?.refuseCall('output')?.data).toEqual({ reason: 'changed', name: 'output' });
    expect(skew?.refuseSubscribe('snapshot')?.data).toEqual({ reason: 'changed', name: 'snapshot' });
    expect(skew?.refuseSubscribe('gone')?.data).toEqual({ reason: 'removed', name: 'gone' });
  });

  it('lets the rest run: unchanged names, unknown names, and input-changed ones until their input fails', () => {
    const skew = skewOf(server, contractFingerprint(client));
    for (const name of ['same', 'input', 'never-known']) expect(skew?.refuseCall(name)).toBeUndefined();
    for (const name of ['same', 'params']) expect(skew?.refuseSubscribe(name)).toBeUndefined();
    expect(skew?.invalidInput('input')?.data).toEqual({ reason: 'changed', name: 'input' });
    expect(skew?.invalidParams('params')?.data).toEqual({ reason: 'changed', name: 'params' });
    expect(skew?.invalidInput('same')).toBeUndefined();
    expect(skew?.invalidParams('same')).toBeUndefined();
  });

  it('keeps procedures and channels apart, and reads only own names', () => {
    const fingerprint: ContractFingerprint = JSON.parse(
      '{"procedures":{"constructor":{"input":"a","output":"b"}},"channels":{"same":{"params":"x","message":"y"}}}',
    );
    expect(skewOf(server, fingerprint)?.report()).toEqual({
      procedures: { constructor: 'removed' },
      channels: { same: 'changed' },
    });
  });
});
