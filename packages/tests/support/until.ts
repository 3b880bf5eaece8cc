import type { EventEmitter } from 'node:events';

/** Resolves once `check()` holds, checked every 10 ms; rejects naming `what` after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Resolves once `check()` holds, re-checked whenever `changes` emits 'change' (the test
 * emits it where the state it watches moves); rejects naming `what` after `timeoutMs`.
 */
export function untilChange(
  changes: EventEmitter,
  check: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  if (check()) return Promise.resolve();
  let listener = () => {};
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new Promise<void>((resolve, reject) => {
    listener = () => {
      if (check()) resolve();
    };
    changes.on('change', listener);
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  }).finally(() => {
    clearTimeout(timer);
    changes.off('change', listener);
  });
}
