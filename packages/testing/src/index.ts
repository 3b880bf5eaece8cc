/**
 * Switchboard's testing kit: a server for a router and a typed client connected to it, in
 * memory or over loopback, with faults on the link and a fake clock.
 *
 * @module @switchboard/testing
 */
export type { TestClock } from './clock.js';
export { type Direction, Link } from './link.js';
export { type Recording, record } from './record.js';
export { createTestPair, type TestPair, type TestPairOptions } from './test-pair.js';
export { WAIT_TIMEOUT_MS } from './wait-timeout.js';
