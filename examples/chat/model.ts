// A stand-in for a language model: the same prompt always gets the same answer, one token
// at a time, each after `delayMs` — and it stops as soon as its signal aborts, as a real
// model's HTTP stream would.

const ANSWER = [
  'A stream in Switchboard is a procedure whose handler yields chunks.',
  'Each chunk is numbered, so a client that loses its connection comes back and asks for',
  'what follows the last one it has, and the handler runs once however often that happens.',
  'When the server itself dies, the client is told so in so many words instead of being',
  'left with half an answer: it can then ask for the rest, as this example does.',
].join(' ');

/** The answer to `prompt` as tokens (words and the spaces after them). */
export function answerTokens(prompt: string): string[] {
  const words = `(${prompt.trim()}) ${ANSWER}`.split(' ');
  return words.map((word, i) => (i === words.length - 1 ? word : `${word} `));
}

/** Waits `ms`, or rejects with the signal's reason once it aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
