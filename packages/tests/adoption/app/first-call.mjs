// The app's TypeScript, compiled by tsc into out/: its first typed call, and the same through the testing kit.
import { kitCall } from './out/kit.js';
import { firstPaint } from './out/live.js';
import { firstCall } from './out/server.js';

console.log(JSON.stringify({ firstCall: await firstCall(), kitCall: await kitCall(), firstPaint: await firstPaint() }));
