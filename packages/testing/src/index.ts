export type { TestClock } from './clock.js';
export { type Direction, Link } from './link.js';
export { type Recording, record } from './record.js';
export { createTestPair, type TestPair, type TestPairOptions } from './test-pair.js';
export { WAIT_TIMEOUT_MS } from './wait-timeout.js';
