// The router, server and brokers arrive with the contract issue; the transport is
// available now from '@switchboard/server/transport'.
export { WebSocketServer } from './transport/index.js';
