import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cancelText,
  chunkBody,
  creditText,
  endBody,
  errorBody,
  gapWriter,
  inputText,
  replyText,
  resultBody,
  streamReplyText,
  streamText,
  unnumberedMessageText,
  withAck,
  withPosition,
} from '../src/envelope-text.js';
import type {
  CallEnvelope,
  CancelEnvelope,
  ErrorEnvelope,
  GapEnvelope,
  MessageEnvelope,
  ResultEnvelope,
} from '../src/protocol.js';
import type { ChunkEnvelope, CreditEnvelope, EndEnvelope, StreamEnvelope } from '../src/stream-protocol.js';

// Every envelope written as text parses to the value JSON.stringify of the typed envelope
// parses to: the two ways of writing are one protocol.

const same = (text: string, envelope: object) => expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(envelope)));

const id = fc.oneof(fc.nat(), fc.string({ minLength: 1, maxLength: 20 }));
const value = fc.option(fc.jsonValue(), { nil: undefined });

describe('envelope text', () => {
  it("writes a stream's chunk, end and error as JSON.stringify would", () => {
    fc.assert(
      fc.property(id, fc.nat(), value, value, (requestId, seq, data, meta) => {
        const chunk: ChunkEnvelope = { type: 'chunk', id: requestId, seq, data, meta };
        same(streamReplyText('chunk', requestId, chunkBody(seq, data, meta)), chunk);
        const end: EndEnvelope = { type: 'end', id: requestId, seq, output: data, meta };
        same(streamReplyText('end', requestId, endBody(seq, data, meta)), end);
        const error: ErrorEnvelope = { type: 'error', id: requestId, error: { code: 'STREAM_LOST', message: 'x' } };
        same(streamReplyText('error', requestId, errorBody(error.error)), error);
      }),
    );
  });

  it('writes stream, credit and cancel as JSON.stringify would', () => {
    const after = fc.option(fc.nat(), { nil: undefined });
    fc.assert(
      fc.property(
        id,
        fc.string(),
        value,
        value,
        fc.string({ minLength: 1 }),
        after,
        fc.nat(),
        (requestId, name, input, meta, key, resume, credit) => {
          const envelope: StreamEnvelope = { type: 'stream', id: requestId, name, input, meta, key, credit };
          if (resume !== undefined) envelope.after = resume;
          const fields =
            resume === undefined
              ? { id: requestId, name, key, credit }
              : { id: requestId, name, key, credit, after: resume };
          same(streamText(fields, inputText(input, meta)), envelope);
          const grant: CreditEnvelope = { type: 'credit', id: requestId, n: credit, read: credit };
          same(creditText({ id: requestId, n: credit, read: credit }), grant);
          const cancel: CancelEnvelope = { type: 'cancel', id: requestId };
          same(cancelText(requestId), cancel);
        },
      ),
    );
  });

  it('writes a result as JSON.stringify would, with or without output and meta', () => {
    fc.assert(
      fc.property(id, value, value, (requestId, output, meta) => {
        const envelope: ResultEnvelope = { type: 'result', id: requestId, output, meta };
        same(replyText(requestId, true, resultBody(output, meta)), envelope);
      }),
    );
  });

  it('writes an error as JSON.stringify would', () => {
    fc.assert(
      fc.property(id, fc.string(), value, (requestId, message, data) => {
        const envelope: ErrorEnvelope = { type: 'error', id: requestId, error: { code: 'NOT_FOUND', message, data } };
        same(replyText(requestId, false, errorBody(envelope.error)), envelope);
      }),
    );
  });

  it('adds a position to a message written once for every subscriber', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), value, value, fc.string(), (channel, key, data, meta, position) => {
        const unnumbered: Omit<MessageEnvelope, 'position'> = { type: 'message', channel, key, data, meta };
        same(withPosition(unnumberedMessageText(unnumbered), position), { ...unnumbered, position });
      }),
    );
  });

  it('writes gaps of one stream, with and without count and subscription', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.constantFrom('dropped', 'history'),
        fc.option(fc.nat(), { nil: undefined }),
        fc.option(id, { nil: undefined }),
        (channel, key, reason, dropped, gapId) => {
          const envelope: GapEnvelope = { type: 'gap', channel, key, reason };
          if (dropped !== undefined) envelope.dropped = dropped;
          if (gapId !== undefined) envelope.id = gapId;
          same(gapWriter(channel, key)(reason, dropped, gapId), envelope);
        },
      ),
    );
  });

  it('adds an ack to a call written as text', () => {
    fc.assert(
      fc.property(fc.nat(), fc.string({ minLength: 1 }), value, fc.nat(), (callId, name, input, ack) => {
        const call: CallEnvelope = { type: 'call', id: callId, name, input, key: `s.${callId}` };
        same(withAck(JSON.stringify(call), ack), { ...call, ack });
      }),
    );
  });
});
