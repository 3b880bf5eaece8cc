/**
 * Cuts one direction of a WebSocket connection's bytes into units a fault can act on:
 * first the HTTP upgrade (request or response) as one unit, then each frame (RFC 6455
 * §5.2: 2 header bytes, 2 or 8 more for the length, 4 for a client's mask, the payload).
 * Bytes that do not make a whole unit yet wait for the next chunk.
 */
export class FrameSplitter {
  #pending: Buffer = Buffer.alloc(0);
  /** Chunks not joined to `#pending` yet, while the frame being read needs `#need` bytes in all. */
  #waiting: Buffer[] = [];
  #waitingBytes = 0;
  #need = 0;
  #upgraded = false;
  /** Not a WebSocket after all (a refused upgrade's response): bytes pass as they come. */
  #raw = false;

  push(chunk: Buffer): Unit[] {
    if (this.#raw) return [{ bytes: chunk, data: false }];
    // A large frame arriving in many chunks is joined once, when it is whole.
    this.#waiting.push(chunk);
    this.#waitingBytes += chunk.length;
    if (this.#pending.length + this.#waitingBytes < this.#need) return [];
    this.#pending = Buffer.concat([this.#pending, ...this.#waiting]);
    this.#waiting = [];
    this.#waitingBytes = 0;
    this.#need = 0;
    const units: Unit[] = [];
    for (;;) {
      const unit = this.#upgraded ? this.#frame() : this.#upgrade();
      if (unit === undefined) return units;
      units.push(unit);
    }
  }

  #take(length: number): Buffer {
    const bytes = this.#pending.subarray(0, length);
    this.#pending = this.#pending.subarray(length);
    return bytes;
  }

  #upgrade(): Unit | undefined {
    const end = this.#pending.indexOf('\r\n\r\n');
    if (end === -1) return undefined;
    const head = this.#take(end + 4);
    // The request, or a 101: frames follow. Any other response: its body is no frame.
    const status = head.subarray(0, 12).toString('latin1');
    if (status.startsWith('HTTP/') && !status.endsWith(' 101')) {
      this.#raw = true;
      const rest = this.#take(this.#pending.length);
      return { bytes: rest.length === 0 ? head : Buffer.concat([head, rest]), data: false };
    }
    this.#upgraded = true;
    return { bytes: head, data: false };
  }

  #frame(): Unit | undefined {
    const bytes = this.#pending;
    if (bytes.length < 2) return undefined;
    const opcode = (bytes[0] as number) & 0x0f;
    const masked = ((bytes[1] as number) & 0x80) !== 0;
    const length7 = (bytes[1] as number) & 0x7f;
    let header = 2;
    let payload = length7;
    if (length7 === 126) {
      if (bytes.length < 4) return undefined;
      header = 4;
      payload = bytes.readUInt16BE(2);
    } else if (length7 === 127) {
      if (bytes.length < 10) return undefined;
      header = 10;
      payload = Number(bytes.readBigUInt64BE(2));
    }
    const total = header + (masked ? 4 : 0) + payload;
    if (bytes.length < total) {
      this.#need = total;
      return undefined;
    }
    // Data frames (text, binary, continuation) are what drop and duplicate act on.
    return { bytes: this.#take(total), data: opcode < 0x8 };
  }
}

/** The HTTP upgrade, or one frame; `data`: a text, binary or continuation frame. */
export interface Unit {
  bytes: Buffer;
  data: boolean;
}
