import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../../tests/support/wait.js';
import { type Broker, type HistoryOptions, parsePosition } from '../../src/broker/broker.js';

/** Makes a fresh broker; the suite closes it after each test. */
export type MakeBroker = (history?: HistoryOptions) => Broker | Promise<Broker>;

const offsetOf = (position: string) => parsePosition(position)?.offset;

/**
 * What every broker promises (docs/architecture.md, "Brokers"): the in-memory broker and
 * the Redis broker run this same suite.
 */
export function describeBroker(name: string, make: MakeBroker): void {
  describe(`${name}: the broker contract`, () => {
    const open: Broker[] = [];
    // Topics are unique per test, so brokers sharing a store (Redis) do not see each other's.
    const topic = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
    const broker = async (history?: HistoryOptions) => {
      const made = await make(history);
      open.push(made);
      return made;
    };

    afterEach(async () => {
      await Promise.all(open.splice(0).map((made) => made.close()));
    });

    it("numbers a topic's messages one by one and delivers them in order with their positions", async () => {
      const b = await broker();
      const [t, other] = [topic('t'), topic('other')];
      const seen: Array<[unknown, string]> = [];
      await b.subscribe(t, (payload, position) => seen.push([payload, position]));
      const first = await b.publish(t, 'a');
      await b.publish(other, 'x');
      const second = await b.publish(t, 'b');
      await until(async () => seen.length === 2, 'the broker to deliver', 2_000);
      expect(seen).toEqual([
        ['a', first],
        ['b', second],
      ]);
      expect(offsetOf(second)).toBe((offsetOf(first) as number) + 1);
      expect(await b.position(t)).toBe(second);
      expect(await b.position(topic('never'))).toMatch(/:0$/);
    });

    it('keeps publish order under many concurrent publishes', async () => {
      const b = await broker();
      const t = topic('burst');
      const seen: unknown[] = [];
      await b.subscribe(t, (payload) => seen.push(payload));
      const payloads = Array.from({ length: 500 }, (_, i) => String(i));
      const positions = await Promise.all(payloads.map((payload) => b.publish(t, payload)));
      await until(async () => seen.length === payloads.length, 'the broker to deliver', 5_000);
      expect(seen).toEqual(payloads);
      const offsets = positions.map(offsetOf) as number[];
      expect(offsets).toEqual(offsets.map((_, i) => (offsets[0] as number) + i));
    });

    it('delivers to every listener of a topic and stops after unsubscribe', async () => {
      const b = await broker();
      const t = topic('t');
      const one: unknown[] = [];
      const two: unknown[] = [];
      const listenOne = (payload: unknown) => one.push(payload);
      await b.subscribe(t, listenOne);
      await b.subscribe(t, (payload) => two.push(payload));
      await b.publish(t, 'a');
      await until(async () => one.length === 1 && two.length === 1, 'the broker to deliver', 2_000);
      await b.unsubscribe(t, listenOne);
      await b.publish(t, 'b');
      await until(async () => two.length === 2, 'the broker to deliver', 2_000);
      expect(one).toEqual(['a']);
      expect(two).toEqual(['a', 'b']);
    });

    it('replays what came after a position, complete while nothing was dropped', async () => {
      const b = await broker();
      const t = topic('t');
      const positions: string[] = [];
      for (const payload of ['a', 'b', 'c']) positions.push(await b.publish(t, payload));
      const [p1, p2, p3] = positions as [string, string, string];
      expect(await b.history(t, p1)).toEqual({
        messages: [
          { payload: 'b', position: p2 },
          { payload: 'c', position: p3 },
        ],
        complete: true,
      });
      expect(await b.history(t, p3)).toEqual({ messages: [], complete: true });
    });

    it('replays from the position a subscriber was given before the first message', async () => {
      const b = await broker();
      const t = topic('t');
      const start = await b.position(t);
      const published = await b.publish(t, 'a');
      expect(await b.history(t, start)).toEqual({ messages: [{ payload: 'a', position: published }], complete: true });
    });

    it('keeps at most maxMessages per topic and says when a replay is incomplete', async () => {
      const b = await broker({ maxMessages: 2 });
      const t = topic('t');
      const positions: string[] = [];
      for (const payload of ['a', 'b', 'c', 'd']) positions.push(await b.publish(t, payload));
      const history = await b.history(t, positions[0] as string);
      expect(history.complete).toBe(false);
      expect((await b.history(t, positions[1] as string)).complete).toBe(true);
      expect((await b.history(t, positions[1] as string)).messages.map((m) => m.payload)).toEqual(['c', 'd']);
    });

    it('drops messages older than maxAgeMs', async () => {
      const b = await broker({ maxAgeMs: 100 });
      const t = topic('t');
      const start = await b.position(t);
      await b.publish(t, 'old');
      await until(async () => !(await b.history(t, start)).complete, 'the history to lose the oldest', 3_000);
      expect(await b.history(t, start)).toEqual({ messages: [], complete: false });
    });

    it('calls a position beyond the newest one, of another epoch, or unreadable, a gap', async () => {
      const b = await broker();
      const t = topic('t');
      const first = await b.publish(t, 'a');
      const { epoch, offset } = parsePosition(first) as { epoch: string; offset: number };
      expect((await b.history(t, `${epoch}:${offset + 5}`)).complete).toBe(false);
      expect(await b.history(t, `another-${epoch}:1`)).toEqual({ messages: [], complete: false });
      expect(await b.history(t, 'not a position')).toEqual({ messages: [], complete: false });
    });
  });
}
