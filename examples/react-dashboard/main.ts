// `npm run example:react`: the React dashboard at http://localhost:3001. PORT picks another port.
import { closeOnSignal } from '../dashboard/server/close-on-signal.js';
import { startReactDashboard } from './server/react-dashboard.js';

const port = Number(process.env.PORT ?? 3001);
const host = process.env.HOST ?? '127.0.0.1';
const dashboard = await startReactDashboard({ port, host });
console.log(
  `Switchboard React dashboard: open ${host === '127.0.0.1' ? `http://localhost:${dashboard.port}/` : dashboard.url}`,
);

closeOnSignal(dashboard);
