// The React dashboard on tRPC, for bench/react: the same 100 tiles, each a component with its
// own useSubscription. `?variant=zone` (the default): each tile follows its zone's readings and
// shows its own sensor's (the hook's `data` is the zone's latest reading, so every tile of the
// zone renders per reading); `?variant=sensor`: each tile subscribes to its own sensor (the
// server filters; 100 subscriptions). Renders are counted by the React dashboard's probe.
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createTRPCClient, createWSClient, wsLink } from '@trpc/client';
import { createTRPCContext, useSubscription } from '@trpc/tanstack-react-query';
import { useRef } from 'react';
import { createRoot } from 'react-dom/client';
import type { ReadingData } from '../../../examples/dashboard/contract.js';
import { sensorId, ZONES } from '../../../examples/dashboard/shared.js';
import { tileRendered } from '../../../examples/react-dashboard/page/probe.js';
import '../../../examples/react-dashboard/page/styles.css';
import type { BenchDashboardRouter } from '../trpc-server.js';

type Zone = ReadingData['zone'];
const { TRPCProvider, useTRPC } = createTRPCContext<BenchDashboardRouter>();
const variant = new URLSearchParams(location.search).get('variant') === 'sensor' ? 'sensor' : 'zone';

function ZoneTile({ zone, id }: { zone: Zone; id: string }) {
  const trpc = useTRPC();
  const { data } = useSubscription(trpc.readings.subscriptionOptions({ zone }));
  const own = useRef<ReadingData | undefined>(undefined);
  const changed = data?.id === id && data !== own.current;
  if (changed) own.current = data;
  tileRendered(changed);
  return <TileView id={id} reading={own.current} />;
}

function SensorTile({ zone, id }: { zone: Zone; id: string }) {
  const trpc = useTRPC();
  const { data } = useSubscription(trpc.readings.subscriptionOptions({ zone, id }));
  const shown = useRef(data);
  tileRendered(shown.current !== data);
  shown.current = data;
  return <TileView id={id} reading={data} />;
}

function TileView({ id, reading }: { id: string; reading: ReadingData | undefined }) {
  return (
    <div className="tile" data-id={id}>
      <span className="id">{id}</span>
      <b>{reading === undefined ? '–' : reading.value.toFixed(1)}</b>
    </div>
  );
}

function App() {
  const Tile = variant === 'sensor' ? SensorTile : ZoneTile;
  return (
    <main className="zones">
      {ZONES.map((zone) => (
        <section key={zone} className="zone">
          <h2>{zone}</h2>
          <div className="tiles">
            {Array.from({ length: 25 }, (_, index) => sensorId(zone, index)).map((id) => (
              <Tile key={id} zone={zone} id={id} />
            ))}
          </div>
        </section>
      ))}
    </main>
  );
}

const wsClient = createWSClient({ url: `ws://${location.host}/trpc` });
const trpcClient = createTRPCClient<BenchDashboardRouter>({ links: [wsLink({ client: wsClient })] });
const queryClient = new QueryClient();
(window as unknown as { __trpcOpen: () => boolean }).__trpcOpen = () => wsClient.connection?.state === 'open';

createRoot(document.getElementById('root') as HTMLElement).render(
  <QueryClientProvider client={queryClient}>
    <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
      <App />
    </TRPCProvider>
  </QueryClientProvider>,
);
