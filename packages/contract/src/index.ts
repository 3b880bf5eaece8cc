/**
 * Switchboard's shared contract: procedures, channels, the wire codec and error types.
 *
 * @module @switchboard/contract
 */
export {
  BINARY_HEADER_BYTES,
  BINARY_LIMITS,
  type BinaryLimits,
  binaryMessage,
  MAX_BINARY_JSON_BYTES,
  MAX_BYTE_VALUES,
  readBinaryMessage,
  readMessage,
  writeMessage,
} from './binary-message.js';
export { decodeValue, type EncodedValue, encodeValue, isPlainJson, MAX_ENCODED_NODES, parseJson } from './codec.js';
export {
  type AnyContract,
  type AnyStreamOutput,
  type Channel,
  type ChannelName,
  type Channels,
  type ChunkOf,
  type Contract,
  channel,
  defineContract,
  type HandlerChunkOf,
  type HandlerOutputOf,
  type HandlerStreamResultOf,
  type InputOf,
  isStreamOutput,
  type MessageOf,
  type OutputOf,
  type ParamsOf,
  type ParsedInputOf,
  type ParsedParamsOf,
  type Procedure,
  type ProcedureName,
  type Procedures,
  type PublishedMessageOf,
  procedure,
  type Schema,
  type SchemaLike,
  type SnapshotOf,
  type SnapshotStateOf,
  type StreamName,
  type StreamOutput,
  type StreamResultOf,
  stream,
} from './contract.js';
export {
  cancelText,
  chunkBody,
  creditText,
  endBody,
  errorBody,
  gapWriter,
  inputText,
  replyText,
  resultBody,
  streamReplyText,
  streamText,
  unnumberedMessageText,
  withAck,
  withPosition,
} from './envelope-text.js';
export {
  ERROR_CODES,
  type ErrorCode,
  isErrorCode,
  type ReloadRequiredData,
  RpcError,
  toRpcError,
  type WireError,
} from './errors.js';
export {
  type ChannelFingerprint,
  type ContractFingerprint,
  contractFingerprint,
  fingerprintProblem,
  MAX_FINGERPRINT_HASH_LENGTH,
  MAX_FINGERPRINT_NAMES,
  type ProcedureFingerprint,
} from './fingerprint.js';
export {
  checkMeta,
  MAX_BIGINT_CHARS,
  MAX_DATE_CHARS,
  MAX_META_ANNOTATIONS,
  MAX_META_PATH_SEGMENTS,
  MAX_URL_CHARS,
  META_LIMITS,
  type MetaLimits,
} from './meta.js';
export type { CheckedChannelName, CheckedName, CheckedProcedureName, KnownName, NameKind } from './name-hints.js';
export {
  comparePositions,
  formatPosition,
  isPosition,
  MAX_POSITION_LENGTH,
  offsetInEpoch,
  type Position,
  parsePosition,
} from './position.js';
export * from './protocol.js';
export type {
  ChunkEnvelope,
  CreditEnvelope,
  EndEnvelope,
  StreamEnvelope,
  StreamLostData,
} from './stream-protocol.js';
export { issuesData, parseOrThrow, type Validated, validate } from './validate.js';
