// The React dashboard: a top bar (feed rate, connection) and 100 sensor tiles in four zones.
// Each zone is one subscription shared by its 25 tiles; a tile selects its own sensor, so a
// reading re-renders exactly one tile.
import { useChannel, useClient, useConnectionState } from '@switchboard/react';
import { useRef, useState } from 'react';
import { ALERT_CELSIUS, CRITICAL_CELSIUS, RATE_PRESETS, sensorId, ZONES } from '../../dashboard/shared.js';
import { tileRendered } from './probe.js';
import './register.js';
import { type Zone, zoneFold } from './state.js';

export function App() {
  return (
    <>
      <header className="topbar">
        <div className="brand">
          <strong>Plant monitor</strong>
          <span>100 sensors · React · live over Switchboard</span>
        </div>
        <RateControl />
        <ConnectionPill />
      </header>
      <main className="zones">
        {ZONES.map((zone) => (
          <ZoneCard key={zone} zone={zone} />
        ))}
      </main>
    </>
  );
}

function RateControl() {
  const client = useClient();
  const { data: status } = useChannel('feed.status', {});
  const [pending, setPending] = useState(false);
  const setRate = (updatesPerSecond: number) => {
    setPending(true);
    client
      .call('feed.setRate', { updatesPerSecond })
      .catch(() => {})
      .finally(() => setPending(false));
  };
  return (
    <fieldset className="rate" aria-label="Feed rate" aria-busy={pending}>
      {RATE_PRESETS.map((rate) => (
        <button key={rate} type="button" aria-pressed={status?.updatesPerSecond === rate} onClick={() => setRate(rate)}>
          {rate.toLocaleString('en')}
        </button>
      ))}
      <span className="rate-now">
        <b>{status?.updatesPerSecond.toLocaleString('en') ?? '–'}</b> updates/s
      </span>
    </fieldset>
  );
}

function ConnectionPill() {
  const state = useConnectionState();
  return (
    <output className="connection" data-state={state}>
      <i className="dot" />
      {state}
    </output>
  );
}

function ZoneCard({ zone }: { zone: Zone }) {
  // The number of sensors changes only with the snapshot: the card does not re-render per reading.
  const { data: count = 0, status } = useChannel('readings', { zone }, { ...zoneFold, select: (byId) => byId.size });
  return (
    <section className="zone" data-status={status}>
      <h2>
        {zone} <small>{status}</small>
      </h2>
      <div className="tiles">
        {Array.from({ length: count }, (_, index) => sensorId(zone, index)).map((id) => (
          <Tile key={id} zone={zone} id={id} />
        ))}
      </div>
    </section>
  );
}

function Tile({ zone, id }: { zone: Zone; id: string }) {
  const { data: reading } = useChannel('readings', { zone }, { ...zoneFold, select: (byId) => byId.get(id) });
  const shown = useRef(reading);
  tileRendered(shown.current !== reading);
  shown.current = reading;
  const value = reading?.value;
  const level =
    value === undefined ? '' : value >= CRITICAL_CELSIUS ? 'critical' : value >= ALERT_CELSIUS ? 'warning' : '';
  return (
    <div className="tile" data-level={level} data-id={id}>
      <span className="id">{id}</span>
      <b>{value === undefined ? '–' : value.toFixed(1)}</b>
      <i style={{ width: `${Math.max(0, Math.min(100, ((value ?? 0) - 20) * 1.25))}%` }} />
    </div>
  );
}
