// The app's TypeScript server, compiled by tsc into out/: its first typed call.
import { firstCall } from './out/server.js';

console.log(JSON.stringify({ firstCall: await firstCall() }));
