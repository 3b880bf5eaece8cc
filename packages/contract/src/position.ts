// Stream positions, `<epoch>:<offset>`: the one reading and writing of them, for the
// server, its brokers and the client (docs/protocol.md, "Positions").

/** Where a message stands in its stream: offsets rise by one per message within an epoch. */
export interface Position {
  /** Names one life of the stream's numbering; a new epoch means the old history is gone. */
  readonly epoch: string;
  /** A non-negative safe integer. */
  readonly offset: number;
}

/** Longest position text accepted from a peer (the same bound as an id). */
export const MAX_POSITION_LENGTH = 128;

/**
 * The offset of a position text, or -1 when it is none: the epoch is everything before the
 * last `:` (not empty), the offset decimal digits only (no sign, exponent or spaces), a
 * safe integer; at most MAX_POSITION_LENGTH characters. Allocates nothing.
 */
function offsetOf(text: string): number {
  if (text.length > MAX_POSITION_LENGTH) return -1;
  const colon = text.lastIndexOf(':');
  if (colon <= 0 || colon === text.length - 1) return -1;
  let offset = 0;
  for (let i = colon + 1; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    offset = offset * 10 + digit;
  }
  // Rounding is monotonic and MAX_SAFE_INTEGER is exact: a larger offset never reads as safe.
  return offset > Number.MAX_SAFE_INTEGER ? -1 : offset;
}

/**
 * The offset of position text `text` when it is of epoch `epoch`, else -1 (another epoch, or
 * not a position). Allocates nothing: a receiver checks every message against the epoch it
 * is in without parsing the text into parts.
 */
export function offsetInEpoch(text: string, epoch: string): number {
  if (text.length <= epoch.length + 1 || text.charCodeAt(epoch.length) !== 58 || !text.startsWith(epoch)) return -1;
  const offset = offsetOf(text);
  // The epoch is everything before the *last* colon: `e:1:2` is not of epoch `e`.
  return offset >= 0 && text.lastIndexOf(':') === epoch.length ? offset : -1;
}

/** Reads `<epoch>:<offset>` (see offsetOf); undefined for anything else. */
export function parsePosition(text: string): Position | undefined {
  const offset = offsetOf(text);
  return offset < 0 ? undefined : { epoch: text.slice(0, text.lastIndexOf(':')), offset };
}

/** Whether `value` is a position text parsePosition() reads; allocates nothing. */
export function isPosition(value: unknown): value is string {
  return typeof value === 'string' && offsetOf(value) >= 0;
}

/** Writes a position. */
export function formatPosition(epoch: string, offset: number): string {
  return `${epoch}:${offset}`;
}

/**
 * Orders two positions of one stream: negative when `a` comes first, 0 when equal,
 * positive when `a` comes later; undefined when they are of different epochs (no order).
 */
export function comparePositions(a: Position, b: Position): number | undefined {
  return a.epoch === b.epoch ? a.offset - b.offset : undefined;
}
