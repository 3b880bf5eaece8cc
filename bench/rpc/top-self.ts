// Top self-time functions of a .cpuprofile (from BENCH_CPU_PROF=<dir>):
//   npx tsx bench/rpc/top-self.ts <file.cpuprofile> [N]
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
const [file, n = '25'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: tsx bench/rpc/top-self.ts <file.cpuprofile> [N]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[] };
const byId = new Map(profile.nodes.map((x) => [x.id, x]));
const self = new Map<string, number>();
for (const id of profile.samples) {
  const node = byId.get(id);
  if (!node) continue;
  const f = node.callFrame;
  const where = f.url ? `${f.url.replace(/^.*\/(node_modules|packages)\//, '$1/')}:${f.lineNumber + 1}` : '';
  const key = `${f.functionName || '(anonymous)'} ${where}`;
  self.set(key, (self.get(key) ?? 0) + 1);
}
const total = profile.samples.length;
const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((s, [, v]) => s + v, 0);
process.stdout.write(`${total} samples, ${((idle / total) * 100).toFixed(1)}% idle; self time of the busy samples:\n`);
for (const [k, v] of [...self]
  .filter(([key]) => !key.startsWith('(idle)'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(n))) {
  process.stdout.write(`${((v / (total - idle)) * 100).toFixed(1).padStart(5)}%  ${k}\n`);
}
