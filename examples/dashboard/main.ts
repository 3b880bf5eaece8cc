// `npm start`: the live dashboard at http://localhost:3000. PORT picks another port;
// HOST=0.0.0.0 serves other machines too (by default only this one, as dev servers do).
import { closeOnSignal } from './server/close-on-signal.js';
import { startDashboard } from './server/dashboard.js';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const dashboard = await startDashboard({ port, host });
const url = host === '127.0.0.1' ? `http://localhost:${dashboard.port}/` : dashboard.url;
console.log(`Switchboard dashboard: open ${url}`);

closeOnSignal(dashboard);
