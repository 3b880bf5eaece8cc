// React 18 (or whichever React the app installed): a live tile in strict mode, in happy-dom,
// against a real server; prints what it saw and how many subscriptions the server counted.
import { Window } from 'happy-dom';

const window = new Window({ url: 'http://localhost/' });
for (const name of ['window', 'document', 'navigator', 'HTMLElement', 'Node', 'Element', 'Text']) {
  globalThis[name] ??= name === 'window' ? window : window[name];
}
globalThis.IS_REACT_ACT_ENVIRONMENT = false;

const React = await import('react');
const { createRoot } = await import('react-dom/client');
const { renderToString } = await import('react-dom/server');
const { SwitchboardProvider, preloadChannel, useChannel } = await import('@switchboard/react');
const { createClient } = await import('@switchboard/client');
const { channel, defineContract } = await import('@switchboard/contract');
const { createServer, defineRouter } = await import('@switchboard/server');
const { default: WebSocket } = await import('ws');
const { z } = await import('zod');
const h = React.createElement;

const contract = defineContract({
  procedures: {},
  channels: {
    board: channel({ params: z.object({}), message: z.number(), snapshot: z.number() }),
  },
});
let value = 41;
let subscribes = 0;
const server = createServer({
  router: defineRouter(contract, {
    procedures: {},
    channels: {
      board: {
        authorize: () => {
          subscribes++;
          return true;
        },
        snapshot: () => value,
      },
    },
  }),
});
const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
const client = createClient({ url: `ws://127.0.0.1:${port}`, WebSocket });

function Tile() {
  const { data, status } = useChannel('board', {});
  return h('p', null, `${status}:${data}`);
}

const until = async (check, what) => {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

const preloaded = [await preloadChannel(client, 'board', {})];
const ssr = renderToString(h(SwitchboardProvider, { client, preloaded }, h(Tile)));
const container = document.createElement('div');
document.body.appendChild(container);
const root = createRoot(container);
root.render(h(React.StrictMode, null, h(SwitchboardProvider, { client }, h(Tile))));
await until(() => container.textContent === 'live:41', 'the snapshot');
value = 42;
await server.publish('board', {}, 42);
await until(() => container.textContent === 'live:42', 'the message');
root.unmount();
await client.close();
await server.close();
await window.happyDOM.close();
// The preload's subscription and the strict-mode tile's: two, not three.
console.log(JSON.stringify({ react: React.version, ssr, shown: 'live:42', subscribes }));
