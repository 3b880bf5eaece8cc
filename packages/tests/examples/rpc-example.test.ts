import { describe, expect, it } from 'vitest';
import { runTodoClient } from '../../../examples/rpc/client.js';
import { startTodoServer } from '../../../examples/rpc/server.js';

describe('examples/rpc', () => {
  it('runs the todo client against the todo server: calls, a typed error and live changes', async () => {
    const { server, port } = await startTodoServer();
    const lines: string[] = [];
    try {
      await runTodoClient(`ws://127.0.0.1:${port}`, (line) => lines.push(line));
    } finally {
      await server.close();
    }
    expect(lines).toContain('change: #1 buy milk ·');
    expect(lines).toContain('change: #1 buy milk ✓');
    expect(lines).toContain('expected failure: NOT_FOUND');
    expect(lines).toContain('1 todo(s)');
    expect(lines.some((line) => /^added #1 at \d{4}-\d\d-\d\dT/.test(line))).toBe(true);
  });
});
