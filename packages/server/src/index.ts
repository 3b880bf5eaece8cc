export { RpcError } from '@switchboard/contract';
export type { Broker, BrokerListener } from './broker/broker.js';
export { MemoryBroker, memoryBroker } from './broker/memory-broker.js';
export { type ResolvedServerOptions, SERVER_DEFAULTS, type ServerLimits, type ServerOptions } from './rpc/options.js';
export {
  type ChannelImplementation,
  type ContextArgs,
  defineRouter,
  type HandlerArgs,
  type Router,
  type RouterDefinition,
} from './rpc/router.js';
export { createServer, type ServerState, type SwitchboardServer } from './server.js';
export { WebSocketServer } from './transport/index.js';
