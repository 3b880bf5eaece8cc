// Client side of RFC 7692 permessage-deflate: offer formatting, response validation,
// and per-message compression with node:zlib (raw DEFLATE, RFC 1951).
import * as zlib from 'node:zlib';

/** One offer, in Autobahn's terms (RFC 7692 §7.1). */
export interface DeflateOffer {
  /** Send `client_no_context_takeover` (hint that we accept the server asking for it). */
  clientNoContextTakeover?: boolean;
  /** Send `client_max_window_bits` (no value): we accept the server limiting our window. */
  clientMaxWindowBits?: boolean;
  /** Send `server_no_context_takeover`: ask the server not to keep its LZ77 window. */
  serverNoContextTakeover?: boolean;
  /** Send `server_max_window_bits=N` (8..15). */
  serverMaxWindowBits?: number;
}

/** Autobahn's default offer: `permessage-deflate; client_no_context_takeover; client_max_window_bits`. */
export const DEFAULT_OFFER: DeflateOffer = { clientNoContextTakeover: true, clientMaxWindowBits: true };

export interface NegotiatedDeflate {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** Window the server compresses with (what we inflate with); 15 unless negotiated. */
  serverMaxWindowBits: number;
  /** Window we must compress within; 15 unless negotiated. */
  clientMaxWindowBits: number;
  /** The response element as the server sent it. */
  response: string;
}

export function formatOffer(offer: DeflateOffer): string {
  let s = 'permessage-deflate';
  if (offer.clientNoContextTakeover) s += '; client_no_context_takeover';
  if (offer.clientMaxWindowBits) s += '; client_max_window_bits';
  if (offer.serverNoContextTakeover) s += '; server_no_context_takeover';
  if (offer.serverMaxWindowBits !== undefined) s += `; server_max_window_bits=${offer.serverMaxWindowBits}`;
  return s;
}

export function formatOffers(offers: readonly DeflateOffer[]): string {
  return offers.map(formatOffer).join(', ');
}

interface ExtensionElement {
  name: string;
  params: Map<string, string | true>;
}

/** Parses a Sec-WebSocket-Extensions value (RFC 6455 §9.1 grammar, quoted values allowed). */
export function parseExtensions(header: string): ExtensionElement[] {
  const out: ExtensionElement[] = [];
  for (const element of splitOutsideQuotes(header, ',')) {
    const parts = splitOutsideQuotes(element, ';').map((p) => p.trim());
    const name = (parts.shift() ?? '').toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw new Error(`malformed extension element "${element.trim()}"`);
    const params = new Map<string, string | true>();
    for (const p of parts) {
      const eq = p.indexOf('=');
      const key = (eq === -1 ? p : p.slice(0, eq)).trim().toLowerCase();
      let value: string | true = true;
      if (eq !== -1) {
        value = p.slice(eq + 1).trim();
        if (value.startsWith('"')) {
          if (!value.endsWith('"') || value.length < 2) throw new Error(`unterminated quoted value in "${p}"`);
          value = value.slice(1, -1);
        }
      }
      if (params.has(key)) throw new Error(`duplicate extension parameter "${key}"`);
      params.set(key, value);
    }
    out.push({ name, params });
  }
  return out;
}

function splitOutsideQuotes(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of s) {
    if (ch === '"') quoted = !quoted;
    if (ch === sep && !quoted) {
      parts.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  parts.push(cur);
  return parts.filter((p) => p.trim() !== '');
}

function windowBits(value: string | true, param: string): number {
  // RFC 7692 §7.1.2: a decimal integer 8..15 without leading zeroes.
  if (value === true || !/^(8|9|1[0-5])$/.test(value)) throw new Error(`invalid ${param} value "${String(value)}"`);
  return Number(value);
}

/**
 * Validates the server's response against what we offered (RFC 7692 §5, §7.1) and
 * returns the negotiated parameters. Throws when the server must be considered broken.
 */
export function acceptResponse(header: string, offers: readonly DeflateOffer[]): NegotiatedDeflate {
  const elements = parseExtensions(header);
  if (elements.length !== 1) throw new Error(`expected one extension in the response, got "${header}"`);
  const [el] = elements;
  if (el?.name !== 'permessage-deflate') throw new Error(`server accepted an extension we did not offer: "${header}"`);
  const result: NegotiatedDeflate = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
    response: header.trim(),
  };
  // The response must be acceptable for at least one of our offers; the lenient
  // reading below holds for all of Autobahn's offers.
  const offeredClientBits = offers.some((o) => o.clientMaxWindowBits);
  const offeredServerBits = offers.map((o) => o.serverMaxWindowBits).filter((b): b is number => b !== undefined);
  for (const [key, value] of el.params) {
    switch (key) {
      case 'server_no_context_takeover':
        // §7.1.1.1: the server may add this even when we did not ask.
        if (value !== true) throw new Error('server_no_context_takeover must not have a value');
        result.serverNoContextTakeover = true;
        break;
      case 'client_no_context_takeover':
        // §7.1.1.2: the server may ask us not to keep context; we always accept.
        if (value !== true) throw new Error('client_no_context_takeover must not have a value');
        result.clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits': {
        const bits = windowBits(value, key);
        // §7.1.2.1: same or smaller than offered.
        if (offeredServerBits.length > 0 && bits > Math.max(...offeredServerBits))
          throw new Error(`server_max_window_bits=${bits} exceeds what we offered`);
        result.serverMaxWindowBits = bits;
        break;
      }
      case 'client_max_window_bits':
        // §7.1.2.2: MUST NOT appear unless the offer had it.
        if (!offeredClientBits) throw new Error('client_max_window_bits in response although not offered');
        result.clientMaxWindowBits = windowBits(value, key);
        break;
      default:
        throw new Error(`unknown permessage-deflate parameter "${key}" in response`);
    }
  }
  // §7.1.2.1: if every offer asked for a server window limit, the response MUST carry one.
  if (
    offers.length > 0 &&
    offers.every((o) => o.serverMaxWindowBits !== undefined) &&
    !el.params.has('server_max_window_bits')
  )
    throw new Error('server ignored our server_max_window_bits request');
  return result;
}

/** RFC 7692 §7.2.1 / §7.2.2: the empty stored block trailer removed after SYNC_FLUSH. */
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * How a compressed message's DEFLATE data ends (RFC 7692 §7.2.1). `sync`: a sync flush, as
 * zlib peers do. `final`: a block with BFINAL set, then the empty stored block of step 2 less
 * its 00 00 ff ff (one 00 octet, the §7.2.3.4 example). The final block ends the DEFLATE
 * stream, so the next message starts a new one with an empty window.
 */
export type DeflateEnding = 'sync' | 'final';

/**
 * Compresses outgoing and inflates incoming message payloads, keeping or dropping the
 * LZ77 window between messages as negotiated. Calls must not overlap (the client
 * processes one message at a time).
 */
export class DeflateCodec {
  private readonly deflater: zlib.DeflateRaw;
  private readonly inflater: zlib.InflateRaw;

  constructor(readonly params: NegotiatedDeflate) {
    // zlib cannot deflate with an 8-bit window (Node raises it to 9); zlib never emits
    // a distance above 2^bits - 262, so 9 bits still fits a 256-byte peer window.
    this.deflater = zlib.createDeflateRaw({ windowBits: Math.max(9, params.clientMaxWindowBits) });
    // Inflate with exactly the negotiated server window, so a server that exceeds it is caught.
    this.inflater = zlib.createInflateRaw({ windowBits: params.serverMaxWindowBits });
  }

  async compress(data: Buffer, ending: DeflateEnding = 'sync'): Promise<Buffer> {
    if (ending === 'final') {
      const out = await runThrough(this.deflater, data, Number.POSITIVE_INFINITY, zlib.constants.Z_FINISH);
      // zlib cannot continue a finished stream; the peer starts a new one too.
      this.deflater.reset();
      return Buffer.concat([out, Buffer.from([0x00])]);
    }
    const out = await runThrough(this.deflater, data);
    if (this.params.clientNoContextTakeover) this.deflater.reset();
    // §7.2.1: SYNC_FLUSH output ends with 00 00 ff ff; strip it.
    if (out.length >= 4 && out.subarray(out.length - 4).equals(TRAILER)) return out.subarray(0, out.length - 4);
    return out;
  }

  async decompress(data: Buffer, maxBytes: number): Promise<Buffer> {
    // §7.2.2: append the trailer, then inflate.
    const out = await runThrough(this.inflater, Buffer.concat([data, TRAILER]), maxBytes);
    // Honour server_no_context_takeover by forgetting the window: if the server
    // nevertheless refers back to an earlier message, inflating fails.
    if (this.params.serverNoContextTakeover) this.inflater.reset();
    return out;
  }

  close(): void {
    this.deflater.close();
    this.inflater.close();
  }
}

function runThrough(
  stream: zlib.DeflateRaw | zlib.InflateRaw,
  input: Buffer,
  maxBytes = Number.POSITIVE_INFINITY,
  flush: number = zlib.constants.Z_SYNC_FLUSH,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      total += chunk.length;
      if (total > maxBytes) finish(new Error(`inflated message exceeds ${maxBytes} bytes`));
    };
    const onError = (err: Error): void => finish(err);
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      stream.off('data', onData);
      stream.off('error', onError);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, total));
    };
    stream.on('data', onData);
    stream.on('error', onError);
    stream.write(input);
    stream.flush(flush, () => finish());
  });
}
