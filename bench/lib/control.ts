// The HTTP control endpoint a bench server opens beside its WebSocket port (publish, stats).
import http from 'node:http';

/** One request to the control endpoint on 127.0.0.1:`port`; the body parsed as JSON, or null. */
export function controlRequest(port: number, method: string, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        data += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data ? JSON.parse(data) : null }));
    });
    req.setTimeout(120_000, () => req.destroy(new Error(`${path}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}
