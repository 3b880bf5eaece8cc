import { type PreloadedChannel, preloadChannel, SwitchboardProvider } from '@switchboard/react';
import { act, render, screen } from '@testing-library/react';
import { Component, type ReactNode, Suspense, startTransition, useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { connect, startServer, until, useChannel, useStream } from './fixture.js';
import { afterTest, SuspendedReadings, setup, toMap, withReading } from './harness.js';

// Edges a review found: a suspended render on a stream whose last reader just let go, a
// provider whose settings change after a preloaded render, a malformed preloaded payload,
// a discarded render of useStream with new input, and a fold the types must refuse.

function Plain() {
  const { status } = useChannel('sensors', { site: 'lab' }, { initial: toMap, reduce: withReading });
  return <p data-testid="plain">{status}</p>;
}

function Board({ seen }: { seen: string[] }) {
  const { data, status } = useChannel(
    'sensors',
    { site: 'lab' },
    { initial: toMap, reduce: withReading, select: (m) => m.get('a') },
  );
  const shown = `${status}:${data}`;
  if (seen.at(-1) !== shown) seen.push(shown);
  return <p data-testid="board">{shown}</p>;
}

class Boundary extends Component<{ children: ReactNode }, { message: string | undefined }> {
  override state = { message: undefined as string | undefined };
  static getDerivedStateFromError(error: Error) {
    return { message: `${(error as { code?: string }).code}: ${error.message}` };
  }
  override render() {
    return this.state.message === undefined ? this.props.children : <s data-testid="boundary">{this.state.message}</s>;
  }
}

/** Suspends (for good) when `to` is 2. */
const never = new Promise<void>(() => {});
function StreamThenMaybeSuspend({ to }: { to: number }) {
  const { status } = useStream('count', { to, delayMs: 5 });
  if (to === 2) throw never;
  return <p data-testid="stream">{status}</p>;
}

function TransitionHost({ controls }: { controls: { set?: (to: number) => void } }) {
  const [to, setTo] = useState(10_000);
  controls.set = setTo;
  return (
    <Suspense fallback={<p>fallback</p>}>
      <StreamThenMaybeSuspend to={to} />
    </Suspense>
  );
}

function ReduceWithoutInitial() {
  // @ts-expect-error: `initial` and `reduce` go together
  const { data } = useChannel('sensors', { site: 'lab' }, { reduce: (n: number) => n + 1 });
  return <p>{String(data)}</p>;
}

describe('edges', () => {
  it("a suspended render on a stream whose last reader just let go settles: the reader's stop timer does not strand it", async () => {
    const { client, record } = await setup();
    record('lab', 'a', 1);
    const view = render(
      <SwitchboardProvider client={client} keepAliveMs={0}>
        <Plain />
      </SwitchboardProvider>,
    );
    // Replaced in one commit, before the snapshot arrives, by a suspending reader of the same stream.
    view.rerender(
      <SwitchboardProvider client={client} keepAliveMs={0}>
        <Suspense fallback={<i data-testid="fallback">loading</i>}>
          <SuspendedReadings testId="suspended" />
        </Suspense>
      </SwitchboardProvider>,
    );
    expect(screen.getByTestId('fallback').textContent).toBe('loading');
    await until(() => screen.queryByTestId('suspended')?.textContent === 'live:1', 'the suspended value');
  });

  it("changing the provider's settings neither re-applies the preloaded snapshot nor resubscribes", async () => {
    const { server, port, record, counts } = await startServer();
    afterTest(() => server.close());
    record('lab', 'a', 1);
    const ssrClient = connect(port);
    afterTest(() => ssrClient.close());
    const preloaded = [await preloadChannel(ssrClient, 'sensors', { site: 'lab' })];
    const browser = connect(port);
    afterTest(() => browser.close());
    const seen: string[] = [];
    const page = (keepAliveMs: number, renderMessages: 'each' | 'frame') => (
      <SwitchboardProvider
        client={browser}
        preloaded={preloaded}
        keepAliveMs={keepAliveMs}
        renderMessages={renderMessages}
      >
        <Board seen={seen} />
      </SwitchboardProvider>
    );
    const view = render(page(0, 'each'));
    await act(async () => {
      await until(() => counts.subscribes === 2, "the browser's subscription");
      record('lab', 'a', 2);
      await until(() => screen.getByTestId('board').textContent === 'live:2', 'the message');
    });
    view.rerender(page(5_000, 'frame'));
    await act(async () => {
      record('lab', 'a', 3);
      await until(() => screen.getByTestId('board').textContent === 'live:3', 'the next message');
    });
    expect(seen).toEqual(['live:1', 'live:2', 'live:3']); // never back to the preloaded state
    expect(counts).toMatchObject({ subscribes: 2, snapshots: 1 }); // the preload's, and one of the browser's
  });

  it('a malformed preloaded payload is BAD_REQUEST naming the item, at the provider', async () => {
    const { client } = await setup();
    vi.spyOn(console, 'error').mockImplementation(() => {}); // React reports the boundary's error
    const bad = [{ key: 'sensors\u0000{"site":"lab"}', position: 42, data: [] }] as unknown as PreloadedChannel[];
    render(
      <Boundary>
        <SwitchboardProvider client={client} preloaded={bad} keepAliveMs={0}>
          <Board seen={[]} />
        </SwitchboardProvider>
      </Boundary>,
    );
    expect(screen.getByTestId('boundary').textContent).toBe('BAD_REQUEST: preloaded[0]: position is not epoch:offset');
  });

  it('a render with new input that React throws away (a transition that suspends) leaves the committed stream alone', async () => {
    const { client, counts } = await setup();
    const controls: { set?: (to: number) => void } = {};
    render(
      <SwitchboardProvider client={client} keepAliveMs={0}>
        <TransitionHost controls={controls} />
      </SwitchboardProvider>,
    );
    await until(() => counts.streamsStarted === 1, 'the first call');
    act(() => startTransition(() => controls.set?.(2)));
    // Each chunk re-renders the committed component (at its committed input): still the one call.
    const chunks = counts.chunks;
    await until(() => counts.chunks >= chunks + 10, 'ten more chunks');
    expect(screen.getByTestId('stream').textContent).toBe('streaming');
    expect(counts.streamsStarted).toBe(1);
    act(() => controls.set?.(10_000)); // back to the committed input
    const back = counts.chunks;
    await until(() => counts.chunks >= back + 10, 'ten more chunks');
    expect(counts.streamsStarted).toBe(1);
  });

  it('the types refuse a reduce without initial (the state would start as the snapshot, not the reducer state)', () => {
    expect(typeof ReduceWithoutInitial).toBe('function'); // checked by the compiler: see its @ts-expect-error
  });
});
