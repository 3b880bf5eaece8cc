// The servers under test. `id` is what --only takes; `ws` (with bufferutil) is the baseline.

export interface Contender {
  id: string;
  label: string;
  /** Server script, relative to bench/echo/. */
  script: string;
  /** Environment overrides; undefined removes a variable inherited from run.ts. */
  env: Record<string, string | undefined>;
  /** 'tcp': raw bytes, no WebSocket framing (the net baseline). */
  protocol: 'ws' | 'tcp';
}

export const CONTENDERS: readonly Contender[] = [
  { id: 'switchboard', label: 'switchboard', script: 'echo/servers/switchboard.ts', env: {}, protocol: 'ws' },
  {
    id: 'ws',
    label: 'ws+bufferutil',
    script: 'echo/servers/ws.ts',
    env: { WS_NO_BUFFER_UTIL: undefined },
    protocol: 'ws',
  },
  {
    id: 'ws-nobufferutil',
    label: 'ws (no bufferutil)',
    script: 'echo/servers/ws.ts',
    env: { WS_NO_BUFFER_UTIL: '1' },
    protocol: 'ws',
  },
  { id: 'net', label: 'node:net (raw TCP)', script: 'echo/servers/net.ts', env: {}, protocol: 'tcp' },
];

export const BASELINE_ID = 'ws';

/** Switchboard's transport as built in another checkout `dir` (its packages/server/dist). */
export function beforeContender(dir: string): Contender {
  return {
    id: 'switchboard-before',
    label: 'switchboard (before)',
    script: 'echo/servers/switchboard.ts',
    env: { SWITCHBOARD_CHECKOUT: dir },
    protocol: 'ws',
  };
}

const ALIASES: Record<string, string> = { 'ws+bufferutil': 'ws', 'ws-nobu': 'ws-nobufferutil' };

/** Contenders named in a comma list (ids or aliases), in the canonical order; throws on unknown names. */
export function select(list: string | undefined): Contender[] {
  if (list === undefined || list.trim() === '') return [...CONTENDERS];
  const wanted = new Set(
    list.split(',').map((raw) => {
      const name = raw.trim();
      const id = ALIASES[name] ?? name;
      if (!CONTENDERS.some((c) => c.id === id)) {
        throw new Error(`unknown contender ${JSON.stringify(name)} (known: ${CONTENDERS.map((c) => c.id).join(', ')})`);
      }
      return id;
    }),
  );
  return CONTENDERS.filter((c) => wanted.has(c.id));
}
