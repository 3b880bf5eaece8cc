import { type AnyContract, isStreamOutput, MAX_NAME_LENGTH, type Procedure } from './contract.js';
import { describeSchema } from './schema-description.js';
import { shortHash } from './short-hash.js';

// What a client tells the server about the contract it was built with (docs/deploy-skew.md):
// a short hash per schema, per procedure and per channel. The server compares it with its
// own and answers RELOAD_REQUIRED where they differ in a way the client cannot live with.

/** The hashes of a procedure's input (as sent) and output (as received). */
export interface ProcedureFingerprint {
  /** Hash of the input schema. */
  readonly input: string;
  /** Hash of the output schema. */
  readonly output: string;
}

/** The hashes of a channel's params (as sent), message and snapshot (as received; no snapshot, no hash). */
export interface ChannelFingerprint {
  /** Hash of the params schema. */
  readonly params: string;
  /** Hash of the message schema. */
  readonly message: string;
  /** Hash of the snapshot schema; absent when the channel has none. */
  readonly snapshot?: string;
}

/**
 * A contract in short: a hash of every schema, by procedure and by channel (two maps: a
 * procedure and a channel may share a name). Plain JSON, the same in every process that
 * built the same contract with the same schema library.
 */
export interface ContractFingerprint {
  /** Procedures by name. */
  readonly procedures: Readonly<Record<string, ProcedureFingerprint>>;
  /** Channels by name. */
  readonly channels: Readonly<Record<string, ChannelFingerprint>>;
}

/** Names (procedures and channels together) a fingerprint carries at most. */
export const MAX_FINGERPRINT_NAMES = 4_096;
/** The longest hash a fingerprint may carry (ours have at most 11 characters). */
export const MAX_FINGERPRINT_HASH_LENGTH = 16;

const computed = new WeakMap<AnyContract, ContractFingerprint>();

/**
 * The fingerprint of `contract`, worked out once per contract object: each input and params
 * schema hashed as it accepts values, each output, message and snapshot schema as it gives
 * them (its JSON Schema where the library offers one, else its definition: see
 * schema-description.ts).
 * @example
 * // scripts/fingerprint.ts: run at build time for clients that import only the contract's type
 * import { writeFileSync } from 'node:fs';
 * writeFileSync('src/contract-fingerprint.json', JSON.stringify(contractFingerprint(contract)));
 */
export function contractFingerprint(contract: AnyContract): ContractFingerprint {
  let fingerprint = computed.get(contract);
  if (fingerprint === undefined) {
    // fromEntries defines own properties: a name such as `constructor` stays a name.
    const procedures = Object.entries(contract.procedures).map(([name, { input, output }]) => [
      name,
      { input: shortHash(describeSchema(input, 'input')), output: shortHash(describeOutput(output)) },
    ]);
    const channels = Object.entries(contract.channels).map(([name, { params, message, snapshot }]) => {
      const hashes = {
        params: shortHash(describeSchema(params, 'input')),
        message: shortHash(describeSchema(message, 'output')),
      };
      return [
        name,
        snapshot === undefined ? hashes : { ...hashes, snapshot: shortHash(describeSchema(snapshot, 'output')) },
      ];
    });
    fingerprint = Object.freeze({ procedures: Object.fromEntries(procedures), channels: Object.fromEntries(channels) });
    computed.set(contract, fingerprint);
  }
  return fingerprint;
}

/** A schema as it gives values; a stream as its chunk and result schemas, marked apart from a plain output. */
function describeOutput(output: Procedure['output']): string {
  if (!isStreamOutput(output)) return describeSchema(output, 'output');
  const result = output.result === undefined ? '' : describeSchema(output.result, 'output');
  return `stream(${describeSchema(output.chunk, 'output')},${result})`;
}

function isHash(value: unknown): boolean {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_FINGERPRINT_HASH_LENGTH;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What is wrong with `value` as a fingerprint a peer sent (within the limits above, names
 * of 1 to MAX_NAME_LENGTH characters), worded to follow `contract `; undefined when
 * nothing is. Fields it does not know are let through and never read.
 */
export function fingerprintProblem(value: unknown): string | undefined {
  if (!isRecord(value) || !isRecord(value.procedures) || !isRecord(value.channels)) {
    return 'must be { procedures, channels }';
  }
  const procedureNames = Object.keys(value.procedures);
  const channelNames = Object.keys(value.channels);
  if (procedureNames.length + channelNames.length > MAX_FINGERPRINT_NAMES) {
    return `has more than ${MAX_FINGERPRINT_NAMES} names`;
  }
  const badName = [...procedureNames, ...channelNames].find(
    (name) => name.length === 0 || name.length > MAX_NAME_LENGTH,
  );
  if (badName !== undefined) return `names must have 1 to ${MAX_NAME_LENGTH} characters`;
  const hashes = `hashes must be strings of 1 to ${MAX_FINGERPRINT_HASH_LENGTH} characters`;
  for (const name of procedureNames) {
    const entry = value.procedures[name];
    if (!isRecord(entry) || !isHash(entry.input) || !isHash(entry.output)) return `procedure '${name}': ${hashes}`;
  }
  for (const name of channelNames) {
    const entry = value.channels[name];
    if (!isRecord(entry) || !isHash(entry.params) || !isHash(entry.message)) return `channel '${name}': ${hashes}`;
    if (entry.snapshot !== undefined && !isHash(entry.snapshot)) return `channel '${name}': ${hashes}`;
  }
  return undefined;
}
