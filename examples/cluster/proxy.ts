// A tiny round-robin TCP proxy: each new connection goes to the next node; a node that refuses
// is skipped. A stand-in for a real load balancer (nginx, HAProxy, a cloud LB): WebSocket needs
// nothing special from it, and no sticky sessions — any node can serve any client.
import net from 'node:net';

export async function startRoundRobinProxy(options: { port?: number; targets: () => number[] }) {
  let next = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const connect = (attempt: number) => {
      const targets = options.targets();
      if (attempt >= targets.length) {
        client.destroy();
        return;
      }
      const port = targets[next++ % targets.length] as number;
      const upstream = net.connect(port, '127.0.0.1');
      // Refused (the node is down): try the next one.
      const refused = () => {
        upstream.destroy();
        connect(attempt + 1);
      };
      upstream.once('error', refused);
      upstream.once('connect', () => {
        upstream.off('error', refused);
        if (client.destroyed) {
          upstream.destroy();
          return;
        }
        sockets.add(upstream);
        upstream.on('error', () => client.destroy());
        upstream.once('close', () => {
          sockets.delete(upstream);
          client.destroy();
        });
        client.once('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    connect(0);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
