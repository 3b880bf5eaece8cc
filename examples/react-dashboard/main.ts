// `npm run example:react`: the React dashboard at http://localhost:3001. PORT picks another port.
import { startReactDashboard } from './server/react-dashboard.js';

const port = Number(process.env.PORT ?? 3001);
const host = process.env.HOST ?? '127.0.0.1';
const dashboard = await startReactDashboard({ port, host });
console.log(
  `Switchboard React dashboard: open ${host === '127.0.0.1' ? `http://localhost:${dashboard.port}/` : dashboard.url}`,
);

let stopping = false;
const stop = () => {
  if (stopping) process.exit(130);
  stopping = true;
  void dashboard.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
