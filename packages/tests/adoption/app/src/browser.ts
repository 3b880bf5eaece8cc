// The fresh app's browser code: only the contract's type is imported, so no zod is bundled.
import { createClient } from '@switchboard/client';
import type { AppContract } from './contract.js';

const client = createClient<AppContract>({ url: '/ws', auth: () => ({ token: 'ada' }) });
client.on('state', (state) => document.body.setAttribute('data-state', state));
const sum: number = await client.call('add', { a: 2, b: 3 });
document.body.textContent = String(sum);
client.subscribe('ticks', { room: 'a' }, { onMessage: (tick) => console.log(tick.n) });
