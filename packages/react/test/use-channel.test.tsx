import { act, render, screen } from '@testing-library/react';
import { Component, type ReactNode, StrictMode, Suspense, useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { until, useChannel } from './fixture.js';
import { SuspendedReadings, setup, toMap, withReading, wrap } from './harness.js';

const text = (state: Map<string, number> | undefined) =>
  state === undefined ? '-' : [...state].map(([k, v]) => `${k}=${v}`).join(',');

interface Seen {
  status: string;
  data: string;
  position: string | undefined;
}

function Board({ seen }: { seen: Seen[] }) {
  const { data, status, position } = useChannel('sensors', { site: 'lab' }, { initial: toMap, reduce: withReading });
  seen.push({ status, data: text(data), position });
  return <p data-testid="board">{text(data)}</p>;
}

/** One sensor's tile: counts its renders. */
function Tile({ id, renders }: { id: string; renders: Map<string, number> }) {
  const { data, status } = useChannel(
    'sensors',
    { site: 'lab' },
    { initial: toMap, reduce: withReading, select: (s) => s.get(id) },
  );
  renders.set(id, (renders.get(id) ?? 0) + 1);
  return <span data-testid={id}>{`${status}:${data ?? '-'}`}</span>;
}

/** Its site is state; `controls` lets the test change it or just render again. */
function Site({ controls }: { controls: { setSite?: (site: string) => void; rerender?: () => void } }) {
  const [site, setSite] = useState('lab');
  const [, force] = useState(0);
  controls.setSite = setSite;
  controls.rerender = () => force((n) => n + 1);
  // Inline functions: new ones on every render.
  const { data } = useChannel(
    'sensors',
    { site },
    { initial: (s) => toMap(s), reduce: (m, r) => withReading(m, r), select: (m) => m.get('a') },
  );
  return <b data-testid="site">{`${site}:${data ?? '-'}`}</b>;
}

function Secret() {
  const { status, error } = useChannel('sensors', { site: 'secret' });
  return <u data-testid="secret">{`${status}:${error?.code ?? ''}`}</u>;
}

function SuspendedSecret() {
  useChannel('sensors', { site: 'secret' }, { suspense: true });
  return null;
}

class Boundary extends Component<{ children: ReactNode }, { code: string | undefined }> {
  override state = { code: undefined as string | undefined };
  static getDerivedStateFromError(error: { code?: string }) {
    return { code: error.code ?? 'unknown' };
  }
  override render() {
    return this.state.code === undefined ? this.props.children : <s data-testid="boundary">{this.state.code}</s>;
  }
}

function Sum() {
  const { data, status } = useChannel('ticks', { room: 'r' }, { initial: () => 0, reduce: (sum, n) => sum + n });
  return <em data-testid="sum">{`${status}:${data}`}</em>;
}

describe('useChannel', () => {
  it('starts from the snapshot, folds each message after it, and is live with the position of the last', async () => {
    const { client, record, counts } = await setup();
    record('lab', 'a', 1);
    record('lab', 'b', 2);
    const seen: Seen[] = [];
    render(wrap(client, <Board seen={seen} />));
    expect(seen[0]).toEqual({ status: 'connecting', data: '-', position: undefined });
    await until(() => screen.getByTestId('board').textContent === 'a=1,b=2', 'the snapshot');
    await act(async () => {
      record('lab', 'a', 10);
      record('lab', 'c', 3);
      await until(() => screen.getByTestId('board').textContent === 'a=10,b=2,c=3', 'both messages');
    });
    const last = seen.at(-1);
    expect(last?.status).toBe('live');
    expect(last?.position?.endsWith(':4')).toBe(true); // four publishes on the stream
    expect(counts).toMatchObject({ subscribes: 1, snapshots: 1 });
  });

  it('select: a message re-renders only the component whose slice changed', async () => {
    const { client, record, counts } = await setup();
    const ids = Array.from({ length: 20 }, (_, i) => `s${i}`);
    for (const id of ids) record('lab', id, 0);
    const renders = new Map<string, number>();
    render(
      wrap(
        client,
        ids.map((id) => <Tile key={id} id={id} renders={renders} />),
      ),
    );
    await until(() => screen.getByTestId('s19').textContent === 'live:0', 'every tile live');
    const before = new Map(renders);
    await act(async () => {
      record('lab', 's7', 1);
      await until(() => screen.getByTestId('s7').textContent === 'live:1', 'the change');
    });
    const changed = ids.filter((id) => renders.get(id) !== before.get(id));
    expect(changed).toEqual(['s7']);
    expect(renders.get('s7')).toBe((before.get('s7') ?? 0) + 1);
    expect(counts.subscribes).toBe(1); // twenty tiles, one subscription
  });

  it('strict mode: mounting twice leaves exactly one subscription on the server; unmount ends it', async () => {
    const { client, record, counts, server } = await setup();
    record('lab', 'a', 1);
    const renders = new Map<string, number>();
    const view = render(<StrictMode>{wrap(client, <Tile id="a" renders={renders} />)}</StrictMode>);
    await until(() => screen.getByTestId('a').textContent === 'live:1', 'the snapshot');
    await act(async () => {
      record('lab', 'a', 2);
      await until(() => screen.getByTestId('a').textContent === 'live:2', 'the message');
    });
    expect(counts).toMatchObject({ subscribes: 1, snapshots: 1 });
    expect(server.metrics().channels.sensors?.subscribers).toBe(1);
    view.unmount();
    await until(() => server.metrics().channels.sensors?.subscribers === 0, 'the unsubscribe');
    expect(counts.subscribes).toBe(1);
  });

  it('new params resubscribe exactly once; new functions in the options every render do not resubscribe', async () => {
    const { client, record, counts } = await setup();
    record('lab', 'a', 1);
    record('yard', 'a', 5);
    const controls: { setSite?: (site: string) => void; rerender?: () => void } = {};
    render(wrap(client, <Site controls={controls} />));
    await until(() => screen.getByTestId('site').textContent === 'lab:1', 'lab');
    for (let i = 0; i < 5; i++) act(() => controls.rerender?.());
    expect(counts.subscribes).toBe(1);
    act(() => controls.setSite?.('yard'));
    await until(() => screen.getByTestId('site').textContent === 'yard:5', 'yard');
    expect(counts).toMatchObject({ subscribes: 2, snapshots: 2 });
  });

  it('suspense: the fallback shows until the snapshot has arrived', async () => {
    const { client, record } = await setup();
    record('lab', 'a', 7);
    render(
      wrap(
        client,
        <Suspense fallback={<i data-testid="fallback">loading</i>}>
          <SuspendedReadings testId="value" />
        </Suspense>,
      ),
    );
    expect(screen.getByTestId('fallback').textContent).toBe('loading');
    await until(() => screen.queryByTestId('value')?.textContent === 'live:7', 'the value');
  });

  it('a refused subscription is status error with the RpcError; with suspense it reaches the error boundary', async () => {
    const { client } = await setup();
    vi.spyOn(console, 'error').mockImplementation(() => {}); // React reports the boundary's error
    render(
      wrap(
        client,
        <>
          <Secret />
          <Boundary>
            <Suspense fallback={null}>
              <SuspendedSecret />
            </Suspense>
          </Boundary>
        </>,
      ),
    );
    await until(() => screen.getByTestId('secret').textContent === 'error:FORBIDDEN', 'the error');
    await until(() => screen.queryByTestId('boundary')?.textContent === 'FORBIDDEN', 'the boundary');
  });

  it('a channel without a snapshot: live once registered, `initial` with undefined, then each message folded', async () => {
    const { client, server } = await setup();
    render(wrap(client, <Sum />));
    await until(() => screen.getByTestId('sum').textContent === 'live:0', 'live');
    await act(async () => {
      for (let n = 1; n <= 10; n++) await server.publish('ticks', { room: 'r' }, n);
      await until(() => screen.getByTestId('sum').textContent === 'live:55', 'the sum');
    });
  });
});
