// ioredis's own declarations import 'redis-errors', which ships no types: with skipLibCheck
// off (so that our .d.ts files are checked too) an app needs this line (docs/install.md).
declare module 'redis-errors';
