// Every wait in the tests is bounded: an event, a promise or a condition, each with a
// deadline and a message naming what did not happen. The one copy of each (the server's
// unit tests import it too).

/** Anything with `once`/`off`/`on`, typed or not (EventEmitter, net.Socket, ServerWebSocket, ws). */
export interface Emitter {
  // biome-ignore lint/suspicious/noExplicitAny: listener arguments are whatever the emitter passes
  once(event: string, listener: (...args: any[]) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: see above
  off(event: string, listener: (...args: any[]) => void): unknown;
}

/** Rejects after `timeoutMs` unless `promise` settles first. */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves with the arguments of the next `event`, or rejects after `timeoutMs` (or as
 * soon as one of `rejectOn` is emitted) with a message naming the event. It listens for
 * nothing else: it never changes whether an emitter has 'error' listeners.
 * @example const [code, reason] = await once<[number, Buffer]>(socket, 'close', 2_000);
 */
export function once<T extends unknown[] = unknown[]>(
  emitter: Emitter,
  event: string,
  timeoutMs = 3_000,
  rejectOn: readonly string[] = [],
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const failures = rejectOn.map((name) => {
      const listener = (...args: unknown[]) => {
        cleanup();
        reject(new Error(`'${name}' (${args.map(String).join(', ')}) came before '${event}'`));
      };
      emitter.once(name, listener);
      return { name, listener };
    });
    const cleanup = () => {
      clearTimeout(timer);
      emitter.off(event, listener);
      for (const { name, listener: l } of failures) emitter.off(name, l);
    };
    const listener = (...args: unknown[]) => {
      cleanup();
      resolve(args as T);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`));
    }, timeoutMs);
    emitter.once(event, listener);
  });
}

/**
 * Resolves once `check()` holds, checked every 10 ms; rejects naming `what` after
 * `timeoutMs`. For state that nothing announces (another process's, a socket's buffer);
 * where an event announces the change, use untilEvent.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Resolves once `check()` holds, re-checked whenever `emitter` emits one of `events`
 * (where the state it watches moves); rejects naming `what` after `timeoutMs`.
 */
export function untilEvent(
  emitter: Emitter & { on(event: string, listener: () => void): unknown },
  events: string | readonly string[],
  check: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  if (check()) return Promise.resolve();
  const names = typeof events === 'string' ? [events] : events;
  let listener = () => {};
  return within(
    new Promise<void>((resolve) => {
      listener = () => {
        if (check()) resolve();
      };
      for (const name of names) emitter.on(name, listener);
    }),
    timeoutMs,
    what,
  ).finally(() => {
    for (const name of names) emitter.off(name, listener);
  });
}
