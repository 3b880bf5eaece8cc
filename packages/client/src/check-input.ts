import { type AnyContract, issuesData, RpcError, validate } from '@switchboard/contract';

/**
 * Against the contract given to the client: NOT_FOUND for a procedure it does not have,
 * BAD_REQUEST (with the issues) for an input its schema refuses.
 */
export async function checkInput(contract: AnyContract, name: string, input: unknown): Promise<void> {
  const procedure = Object.hasOwn(contract.procedures, name) ? contract.procedures[name] : undefined;
  if (procedure === undefined) throw new RpcError('NOT_FOUND', `no procedure '${name}' in the contract`);
  const checked = await validate(procedure.input, input);
  if (!checked.ok) throw new RpcError('BAD_REQUEST', 'invalid input', issuesData(checked.issues));
}
