// What the browser tests and the benchmark read from the page, as window.__reactDashboard:
// renders of the tiles grouped by render pass, readings folded, and per zone the position
// the page started from and the positions it folded after it. Only in a browser.

/** Positions kept per zone (then no more are recorded): a probe, not a log. */
const MAX_POSITIONS = 50_000;

export interface Probe {
  /** Render passes (one React render and commit) by how many tiles they rendered: index = tiles. */
  passesByTiles: number[];
  /** Tile renders, all passes together. */
  tileRenders: number;
  /** Tile renders that showed what the tile showed already (a render for nothing). */
  wastedRenders: number;
  /** Readings folded into state, all zones together. */
  folded: number;
  /** Per zone: the preloaded snapshot's position the page started from. */
  preloaded: Record<string, string>;
  /** Per zone: each position folded after that, in order (at most MAX_POSITIONS). */
  positions: Record<string, string[]>;
}

function makeProbe(): Probe | undefined {
  if (typeof window === 'undefined') return undefined;
  const made: Probe = { passesByTiles: [], tileRenders: 0, wastedRenders: 0, folded: 0, preloaded: {}, positions: {} };
  (window as unknown as { __reactDashboard: Probe }).__reactDashboard = made;
  return made;
}

const probe = makeProbe();

let tilesThisPass = 0;

function endPass(): void {
  if (probe === undefined) return;
  probe.passesByTiles[tilesThisPass] = (probe.passesByTiles[tilesThisPass] ?? 0) + 1;
  tilesThisPass = 0;
}

/**
 * A tile rendered (`changed`: with something new to show); the pass it belongs to ends once
 * React's synchronous work is done.
 */
export function tileRendered(changed: boolean): void {
  if (probe === undefined) return;
  probe.tileRenders++;
  if (!changed) probe.wastedRenders++;
  if (tilesThisPass++ === 0) queueMicrotask(endPass);
}

export function readingFolded(zone: string, position: string): void {
  if (probe === undefined) return;
  probe.folded++;
  const positions = probe.positions[zone] ?? [];
  probe.positions[zone] = positions;
  if (positions.length < MAX_POSITIONS) positions.push(position);
}

export function startedFrom(zone: string, position: string): void {
  if (probe !== undefined) probe.preloaded[zone] = position;
}
