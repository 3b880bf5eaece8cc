import { Writable } from 'node:stream';
import type { Client, MessageMeta } from '@switchboard/client';
import { type PreloadedChannel, preloadChannel, SwitchboardProvider, serializePreloaded } from '@switchboard/react';
import { act } from '@testing-library/react';
import type { ReactNode } from 'react';
import { hydrateRoot, type Root } from 'react-dom/client';
import { renderToPipeableStream, renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { type AppContract, connect, type Reading, startServer, until, useChannel } from './fixture.js';
import { afterTest } from './harness.js';

// Server rendering hands over to the live stream: the page is rendered with a snapshot and its
// position; the browser's hooks start from that state and continue after that position, with
// no second snapshot, while the publisher goes on.

/** The board's state, and each position folded into it (the reducer runs once per message). */
interface Board {
  values: Map<string, number>;
  positions: string[];
}

function BoardView({ folded }: { folded?: string[] }) {
  const { data, status } = useChannel(
    'sensors',
    { site: 'lab' },
    {
      initial: (readings: Reading[]): Board => ({
        values: new Map(readings.map((r) => [r.id, r.value])),
        positions: [],
      }),
      reduce: (board: Board, r: Reading, meta: MessageMeta): Board => {
        folded?.push(meta.position);
        return { values: new Map(board.values).set(r.id, r.value), positions: board.positions };
      },
    },
  );
  const total = data === undefined ? '-' : [...data.values.values()].reduce((a, b) => a + b, 0);
  return <p id="board">{`${status}:${total}`}</p>;
}

function page(client: Client<AppContract>, preloaded: readonly PreloadedChannel[], folded?: string[]): ReactNode {
  return (
    <SwitchboardProvider client={client} preloaded={preloaded} keepAliveMs={0}>
      <BoardView {...(folded === undefined ? {} : { folded })} />
    </SwitchboardProvider>
  );
}

function renderToPipe(node: ReactNode): Promise<string> {
  return new Promise((resolve, reject) => {
    let html = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        html += String(chunk);
        done();
      },
      final(done) {
        resolve(html);
        done();
      },
    });
    const { pipe } = renderToPipeableStream(node, { onAllReady: () => pipe(sink), onError: reject });
  });
}

function Notes() {
  const { data, status } = useChannel('notes', {});
  if (data === undefined || typeof data === 'string') return <p>{status}</p>;
  return (
    <p>{`${status}:${data.at.toISOString()}:${[...data.tags].join(',')}:${data.bytes.join(',')}:${data.bytes.constructor.name}`}</p>
  );
}

const offset = (position: string) => Number(position.slice(position.lastIndexOf(':') + 1));

describe('server rendering', () => {
  for (const renderer of ['renderToString', 'renderToPipeableStream'] as const) {
    it(`${renderer}: the browser continues after the rendered position while the publisher runs: 0 missing, 0 repeated, 1 snapshot`, async () => {
      const { server, port, counts, record } = await startServer();
      afterTest(() => server.close());
      let published = 0;
      const publish = () => {
        published++;
        record('lab', `s${published % 10}`, published);
      };
      for (let i = 0; i < 50; i++) publish();
      const publisher = setInterval(() => {
        for (let i = 0; i < 5; i++) publish();
      }, 2);
      afterTest(() => clearInterval(publisher));

      // The render server: its own client takes the snapshot and its position.
      const ssrClient = connect(port);
      afterTest(() => ssrClient.close());
      const preloaded = [await preloadChannel(ssrClient, 'sensors', { site: 'lab' })];
      const html =
        renderer === 'renderToString'
          ? renderToString(page(ssrClient, preloaded))
          : await renderToPipe(page(ssrClient, preloaded));
      const total = (readings: Map<string, number>) => [...readings.values()].reduce((a, b) => a + b, 0);
      expect(html).toContain('live:');
      // The page carries the preloaded state as a script would, and is hydrated in the browser.
      const carried = JSON.parse(serializePreloaded(preloaded)) as PreloadedChannel[];
      const container = document.createElement('div');
      container.innerHTML = html;
      document.body.append(container);
      const browser = connect(port);
      afterTest(() => browser.close());
      const folded: string[] = [];
      const recoverable: unknown[] = [];
      let root: Root | undefined;
      await act(async () => {
        root = hydrateRoot(container, page(browser, carried, folded), {
          onRecoverableError: (error) => recoverable.push(error),
        });
      });
      afterTest(() => act(() => root?.unmount()));
      await until(() => folded.length >= 100, 'a hundred messages after the render');
      clearInterval(publisher);
      const last = published;
      await until(() => offset(folded.at(-1) ?? ':0') === last, 'the last message');

      const from = offset(carried[0]?.position ?? ':-1');
      expect(recoverable).toEqual([]); // hydration matched the server's HTML
      expect(folded.map(offset)).toEqual(Array.from({ length: last - from }, (_, i) => from + i + 1));
      expect(counts.snapshots).toBe(1); // the render server's; the browser took none
      const shown = container.querySelector('#board')?.textContent;
      const expected = new Map<string, number>();
      for (let n = 1; n <= last; n++) expected.set(`s${n % 10}`, n);
      expect(shown).toBe(`live:${total(expected)}`);
    });
  }

  it('serializePreloaded is safe inside an inline script and keeps superjson values and bytes', async () => {
    const { server, port, record } = await startServer();
    afterTest(() => server.close());
    record('lab', '</script><script>alert(1)</script>\u2028', 1);
    const client = connect(port);
    afterTest(() => client.close());
    const preloaded = [
      await preloadChannel(client, 'sensors', { site: 'lab' }),
      await preloadChannel(client, 'notes', {}),
    ];
    const text = serializePreloaded(preloaded);
    expect(text).not.toMatch(/[<\u2028\u2029]/);
    expect(JSON.parse(text)).toEqual(preloaded);
    // Read back by a provider (no connection needed: the state is there at the first render).
    const html = renderToString(
      <SwitchboardProvider client={client} preloaded={JSON.parse(text)}>
        <Notes />
      </SwitchboardProvider>,
    );
    expect(html).toContain('live:2023-11-14T22:13:20.000Z:a,&lt;b&gt;:0,1,254,255:Uint8Array');
  });

  it('preloadChannel of a channel without a snapshot is refused; an unknown name fails', async () => {
    const { server, port } = await startServer();
    afterTest(() => server.close());
    const client = connect(port);
    afterTest(() => client.close());
    await expect(preloadChannel(client, 'ticks', { room: 'r' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(preloadChannel(client, 'nope' as 'ticks', { room: 'r' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
