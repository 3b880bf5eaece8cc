/** Anything with `once`/`off`, typed or not (EventEmitter, net.Socket, ServerWebSocket, ws). */
export interface Emitter {
  // biome-ignore lint/suspicious/noExplicitAny: listener arguments are whatever the emitter passes
  once(event: string, listener: (...args: any[]) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: see above
  off(event: string, listener: (...args: any[]) => void): unknown;
}

/**
 * Resolves with the arguments of the next `event`, or rejects after `timeoutMs`
 * (or as soon as one of `rejectOn` is emitted) with a message naming the event.
 * The only way these tests wait.
 * @example const [code, reason] = await once<[number, Buffer]>(socket, 'close', 2_000);
 */
export function once<T extends unknown[] = unknown[]>(
  emitter: Emitter,
  event: string,
  timeoutMs: number,
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

/** Rejects after `timeoutMs` unless `promise` settles first. */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
