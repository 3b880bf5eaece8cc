/**
 * Ctrl-C (or SIGTERM) closes `server` and exits; a second Ctrl-C while it drains means "now".
 * The one way both dashboards' `main.ts` stop.
 */
export function closeOnSignal(server: { close(): Promise<void> }): void {
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(130);
    stopping = true;
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
