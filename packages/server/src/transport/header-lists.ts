// Hand-written, linear scanners for the list-valued handshake headers. No regular
// expressions (CVE-2021-32640, CVE-2020-7662) and no objects keyed by peer input
// (a `constructor` extension once crashed ws): results are arrays and Maps.

// RFC 7230 §3.2.6 tchar.
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

function isTchar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1;
}

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** True when `value` is a non-empty RFC 7230 token. */
export function isToken(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) if (!isTchar(value.charCodeAt(i))) return false;
  return true;
}

/**
 * Splits a comma-separated header value (RFC 7230 §7 `#rule`) into trimmed,
 * non-empty elements.
 */
export function splitList(value: string): string[] {
  const items: string[] = [];
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i === value.length || value.charCodeAt(i) === 0x2c) {
      let from = start;
      let to = i;
      while (from < to && isWhitespace(value.charCodeAt(from))) from++;
      while (to > from && isWhitespace(value.charCodeAt(to - 1))) to--;
      if (to > from) items.push(value.slice(from, to));
      start = i + 1;
    }
  }
  return items;
}

/** Case-insensitive: does the comma list contain `token`? */
export function listHasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const wanted = token.toLowerCase();
  for (const item of splitList(value)) if (item.toLowerCase() === wanted) return true;
  return false;
}

/**
 * RFC 6455 §4.1: `Sec-WebSocket-Protocol` is a list of distinct tokens.
 * Returns null when an element is not a token or repeats.
 */
export function parseProtocolList(value: string): string[] | null {
  const protocols = splitList(value);
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (!isToken(protocol) || seen.has(protocol)) return null;
    seen.add(protocol);
  }
  return protocols;
}

/** One offer from `Sec-WebSocket-Extensions`: a name and its parameters in order. */
export interface ExtensionOffer {
  name: string;
  /** `true` for a parameter given without a value. */
  params: Map<string, string | true>;
  /** Some parameter appeared twice (RFC 7692 §5: the offer must be declined). */
  hasDuplicateParam: boolean;
}

/**
 * RFC 6455 §9.1 grammar:
 *   extension-list = 1#extension
 *   extension      = token *( ";" param )
 *   param          = token [ "=" ( token | quoted-string ) ]
 * A quoted value must itself be a token once unescaped. Returns null on bad syntax.
 */
export function parseExtensionList(value: string): ExtensionOffer[] | null {
  const offers: ExtensionOffer[] = [];
  const n = value.length;
  let i = 0;

  const skipWhitespace = () => {
    while (i < n && isWhitespace(value.charCodeAt(i))) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && isTchar(value.charCodeAt(i))) i++;
    return value.slice(start, i);
  };
  const readQuoted = (): string | null => {
    i++; // opening quote
    let text = '';
    while (i < n) {
      const code = value.charCodeAt(i);
      if (code === 0x22) {
        i++;
        return text;
      }
      if (code === 0x5c) {
        i++;
        if (i === n) return null;
      }
      text += value[i];
      i++;
    }
    return null; // unterminated
  };

  while (i < n) {
    skipWhitespace();
    if (i === n) break;
    if (value.charCodeAt(i) === 0x2c) {
      i++; // empty list element
      continue;
    }
    const name = readToken();
    if (name === '') return null;
    const offer: ExtensionOffer = { name, params: new Map(), hasDuplicateParam: false };
    skipWhitespace();
    while (i < n && value.charCodeAt(i) === 0x3b) {
      i++;
      skipWhitespace();
      const param = readToken();
      if (param === '') return null;
      skipWhitespace();
      let paramValue: string | true = true;
      if (i < n && value.charCodeAt(i) === 0x3d) {
        i++;
        skipWhitespace();
        const quoted = i < n && value.charCodeAt(i) === 0x22;
        const text = quoted ? readQuoted() : readToken();
        if (text === null || !isToken(text)) return null;
        paramValue = text;
        skipWhitespace();
      }
      if (offer.params.has(param)) offer.hasDuplicateParam = true;
      else offer.params.set(param, paramValue);
    }
    offers.push(offer);
    if (i < n) {
      if (value.charCodeAt(i) !== 0x2c) return null;
      i++;
    }
  }
  return offers.length > 0 ? offers : null;
}
