import { describe, expect, it } from 'vitest';
import { answerTokens } from '../../../examples/chat/model.js';
import { demo } from '../../../examples/chat/run.js';

describe('examples/chat', () => {
  it('prints the whole answer once, in order, through kill -9 of the server mid-answer', async () => {
    let printed = '';
    const notes: string[] = [];
    const answer = await demo(
      (text) => {
        printed += text;
      },
      (line) => notes.push(line.trim()),
    );
    const expected = answerTokens('what is a stream?').join('');
    expect(answer).toBe(expected);
    expect(printed).toBe(expected);
    expect(notes).toContain('[kill -9 of the server, and a new one on the same port]');
    expect(
      notes.some((note) => /^\[the server lost the answer after token \d+: asking for the rest\]$/.test(note)),
    ).toBe(true);
    expect(notes).toContain(`[${answerTokens('what is a stream?').length} tokens]`);
  }, 60_000);
});
