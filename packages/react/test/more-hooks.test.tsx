import { SwitchboardProvider, useConnectionState } from '@switchboard/react';
import { act, render, screen } from '@testing-library/react';
import { StrictMode } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { GappyBroker, until, useChannel, useStream } from './fixture.js';
import { setup, toMap, withReading, wrap } from './harness.js';

function Statuses({ statuses }: { statuses: string[] }) {
  const { data, status } = useChannel(
    'sensors',
    { site: 'lab' },
    { initial: toMap, reduce: withReading, select: (m) => m.get('a') },
  );
  if (statuses.at(-1) !== status) statuses.push(status);
  return <p data-testid="a">{`${status}:${data}`}</p>;
}

function Pill({ seen }: { seen: string[] }) {
  const state = useConnectionState();
  if (seen.at(-1) !== state) seen.push(state);
  return <p data-testid="pill">{state}</p>;
}

function Counter({ to, delayMs, runs }: { to: number; delayMs: number; runs?: string[] }) {
  const { data, status, result } = useStream('count', { to, delayMs });
  runs?.push(status);
  return <p data-testid="count">{`${status}:${(data ?? []).join(',')}:${result ?? ''}`}</p>;
}

function Total({ to }: { to: number }) {
  const { data, status } = useStream('count', { to, delayMs: 0 }, { initial: () => 0, reduce: (sum, n) => sum + n });
  return <p data-testid="total">{`${status}:${data}`}</p>;
}

describe('useChannel after a gap', () => {
  it('is resyncing until a fresh snapshot replaces the state, then live with it', async () => {
    const broker = new GappyBroker();
    const { client, record, counts } = await setup(broker);
    record('lab', 'a', 1);
    const statuses: string[] = [];
    render(wrap(client, <Statuses statuses={statuses} />));
    await until(() => screen.getByTestId('a').textContent === 'live:1', 'live');
    await act(async () => {
      broker.gap(3); // messages were lost on the way: the state is not to be trusted
      record('lab', 'a', 2);
      await until(() => screen.getByTestId('a').textContent === 'live:2' && counts.snapshots === 2, 'resynced');
    });
    expect(statuses).toEqual(['connecting', 'live', 'resyncing', 'live']);
    expect(counts.subscribes).toBe(2);
  });
});

function Last({ renders }: { renders: number[] }) {
  const { data, status } = useChannel(
    'sensors',
    { site: 'lab' },
    { initial: toMap, reduce: withReading, select: (m) => m.get('a') },
  );
  renders.push(data ?? -1);
  return <p data-testid="last">{`${status}:${data}`}</p>;
}

describe("renderMessages: 'frame'", () => {
  it('folds every message at once and renders the latest state at the next animation frame', async () => {
    const frames: Array<() => void> = [];
    vi.stubGlobal('requestAnimationFrame', (run: () => void) => frames.push(run));
    const { client, record } = await setup();
    record('lab', 'a', 0);
    const renders: number[] = [];
    render(
      <SwitchboardProvider client={client} keepAliveMs={0} renderMessages="frame">
        <Last renders={renders} />
      </SwitchboardProvider>,
    );
    await until(() => screen.getByTestId('last').textContent === 'live:0', 'live'); // a status change: at once
    // Another subscription on the same client sees each message in the same dispatch as the hook's.
    let seen = 0;
    await client.subscribe('sensors', { site: 'lab' }, { onMessage: () => seen++ }).ready;
    const before = renders.length;
    for (let value = 1; value <= 50; value++) {
      record('lab', 'a', value);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await until(() => seen === 50, 'fifty messages');
    expect(renders.length).toBe(before); // folded, not rendered yet
    expect(frames.length).toBe(1); // one frame asked for, however many messages
    act(() => {
      for (const run of frames.splice(0)) run();
    });
    expect(renders.slice(before)).toEqual([50]);
    expect(screen.getByTestId('last').textContent).toBe('live:50');
  });
});

function Maybe({ site }: { site: string | undefined }) {
  const { data, status } = useChannel(
    'sensors',
    { site: site ?? '' },
    { initial: toMap, reduce: withReading, select: (m) => m.get('a'), enabled: site !== undefined },
  );
  return <p data-testid="maybe">{`${status}:${data}`}</p>;
}

describe('useChannel with enabled: false', () => {
  it('subscribes to nothing (status idle) until enabled, then exactly once', async () => {
    const { client, record, counts } = await setup();
    record('lab', 'a', 4);
    const view = render(wrap(client, <Maybe site={undefined} />));
    expect(screen.getByTestId('maybe').textContent).toBe('idle:undefined');
    await client.call('double', 1); // a round trip: anything the hook sent has reached the server
    expect(counts.subscribes).toBe(0);
    view.rerender(wrap(client, <Maybe site="lab" />));
    await until(() => screen.getByTestId('maybe').textContent === 'live:4', 'live');
    expect(counts).toMatchObject({ subscribes: 1, snapshots: 1 });
  });
});

describe('useConnectionState', () => {
  it("follows the client's state: connecting, open, reconnecting, open", async () => {
    const { client } = await setup();
    const seen: string[] = [];
    render(wrap(client, <Pill seen={seen} />));
    expect(screen.getByTestId('pill').textContent).toBe('connecting');
    await until(() => screen.getByTestId('pill').textContent === 'open', 'open');
    await act(async () => {
      client.reconnect(); // drops the socket and connects again
      await until(() => seen.length > 2 && seen.at(-1) === 'open', 'open again');
    });
    expect(seen[0]).toBe('connecting');
    expect(seen[1]).toBe('open');
    expect(seen.slice(2, -1).length).toBeGreaterThan(0);
    expect(seen.slice(2, -1).every((state) => state === 'reconnecting' || state === 'connecting')).toBe(true);
  });
});

describe('useStream', () => {
  it('folds chunks as they come, then the result; an array of chunks by default', async () => {
    const { client } = await setup();
    render(wrap(client, [<Counter key="c" to={5} delayMs={1} />, <Total key="t" to={100} />]));
    await until(() => screen.getByTestId('count').textContent === 'done:1,2,3,4,5:counted to 5', 'the count');
    await until(() => screen.getByTestId('total').textContent === 'done:5050', 'the total');
  });

  it('strict mode makes one call; unmount cancels it and the handler stops', async () => {
    const { client, counts } = await setup();
    const view = render(<StrictMode>{wrap(client, <Counter to={10_000} delayMs={5} />)}</StrictMode>);
    await until(() => (screen.getByTestId('count').textContent ?? '').startsWith('streaming:1,2'), 'chunks');
    expect(counts.streamsStarted).toBe(1);
    view.unmount();
    await until(() => counts.streamsStopped === 1, 'the handler stopped');
    expect(counts.streamsStarted).toBe(1);
  });

  it('new input makes exactly one new call and cancels the old one', async () => {
    const { client, counts } = await setup();
    const view = render(wrap(client, <Counter to={10_000} delayMs={5} />));
    await until(() => (screen.getByTestId('count').textContent ?? '').startsWith('streaming:1'), 'chunks');
    view.rerender(wrap(client, <Counter to={3} delayMs={0} />));
    await until(() => screen.getByTestId('count').textContent === 'done:1,2,3:counted to 3', 'the second call');
    await until(() => counts.streamsStopped === 2, 'both handlers stopped');
    expect(counts.streamsStarted).toBe(2);
  });
});
