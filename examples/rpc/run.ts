// `npm run example:rpc`: starts the server, runs the client against it, stops.
import { runTodoClient } from './client.js';
import { startTodoServer } from './server.js';

const { server, port } = await startTodoServer();
await runTodoClient(`ws://127.0.0.1:${port}`);
await server.close();
