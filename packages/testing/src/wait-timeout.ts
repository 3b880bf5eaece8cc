/** How long a helper waits, in real time, before it fails the test with a message. */
export const WAIT_TIMEOUT_MS = 5_000;
