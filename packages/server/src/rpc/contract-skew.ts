import {
  type AnyContract,
  type ContractFingerprint,
  type ContractSkew,
  contractFingerprint,
  type ReloadRequiredData,
  RpcError,
  type SkewReason,
} from '@switchboard/contract';

// Deploy skew (docs/deploy-skew.md): a client whose first `auth` carried the fingerprint of
// the contract it was built with, compared with this server's once, at admission. What a
// connection keeps is only the names that differ; a client that sent no fingerprint, or
// whose contract is this server's, keeps nothing (no SkewedNames at all).
//
//   the client's name on this server   reason           a call / subscribe of it
//   ───────────────────────────────────────────────────────────────────────────────────────
//   missing                            removed          RELOAD_REQUIRED
//   output (message, snapshot) differ  changed          RELOAD_REQUIRED (the server cannot
//                                                       tell a compatible change)
//   only input (params) differs        input-changed    runs; RELOAD_REQUIRED only for an
//                                                       input the server's schema refuses

type Kind = 'procedure' | 'channel';

function reloadRequired(kind: Kind, name: string, reason: SkewReason): RpcError {
  const data: ReloadRequiredData = { reason: reason === 'removed' ? 'removed' : 'changed', name };
  const why = reason === 'removed' ? 'no longer exists' : 'has changed';
  return new RpcError('RELOAD_REQUIRED', `${kind} '${name}' ${why} on the server: reload the client`, data);
}

/** The names of a connection's client contract that this server does not serve as they were. */
export class SkewedNames {
  readonly #procedures: ReadonlyMap<string, SkewReason>;
  readonly #channels: ReadonlyMap<string, SkewReason>;

  constructor(procedures: ReadonlyMap<string, SkewReason>, channels: ReadonlyMap<string, SkewReason>) {
    this.#procedures = procedures;
    this.#channels = channels;
  }

  /** RELOAD_REQUIRED for a call of procedure `name` that cannot serve this client (removed, output changed). */
  refuseCall(name: string): RpcError | undefined {
    return refusal('procedure', name, this.#procedures.get(name));
  }

  /** RELOAD_REQUIRED for a subscribe to channel `name` that cannot serve this client (removed, message or snapshot changed). */
  refuseSubscribe(name: string): RpcError | undefined {
    return refusal('channel', name, this.#channels.get(name));
  }

  /** The server's input schema refused this client's input: RELOAD_REQUIRED if the client's input schema differs. */
  invalidInput(name: string): RpcError | undefined {
    return this.#procedures.get(name) === 'input-changed' ? reloadRequired('procedure', name, 'changed') : undefined;
  }

  /** The server's params schema refused this client's params: RELOAD_REQUIRED if the client's params schema differs. */
  invalidParams(name: string): RpcError | undefined {
    return this.#channels.get(name) === 'input-changed' ? reloadRequired('channel', name, 'changed') : undefined;
  }

  /** What `authenticated` tells the client. */
  report(): ContractSkew {
    return { procedures: Object.fromEntries(this.#procedures), channels: Object.fromEntries(this.#channels) };
  }
}

function refusal(kind: Kind, name: string, reason: SkewReason | undefined): RpcError | undefined {
  return reason === undefined || reason === 'input-changed' ? undefined : reloadRequired(kind, name, reason);
}

/**
 * Compares a client's fingerprint (checked by readClientEnvelope) with the fingerprint of
 * `contract` (worked out once per contract). Undefined when nothing differs.
 */
export function skewOf(contract: AnyContract, client: ContractFingerprint): SkewedNames | undefined {
  const server = contractFingerprint(contract);
  const procedures = new Map<string, SkewReason>();
  for (const name of Object.keys(client.procedures)) {
    const theirs = client.procedures[name];
    const ours = Object.hasOwn(server.procedures, name) ? server.procedures[name] : undefined;
    if (theirs === undefined || ours === undefined) procedures.set(name, 'removed');
    else if (theirs.output !== ours.output) procedures.set(name, 'changed');
    else if (theirs.input !== ours.input) procedures.set(name, 'input-changed');
  }
  const channels = new Map<string, SkewReason>();
  for (const name of Object.keys(client.channels)) {
    const theirs = client.channels[name];
    const ours = Object.hasOwn(server.channels, name) ? server.channels[name] : undefined;
    if (theirs === undefined || ours === undefined) channels.set(name, 'removed');
    else if (theirs.message !== ours.message || theirs.snapshot !== ours.snapshot) channels.set(name, 'changed');
    else if (theirs.params !== ours.params) channels.set(name, 'input-changed');
  }
  return procedures.size === 0 && channels.size === 0 ? undefined : new SkewedNames(procedures, channels);
}
