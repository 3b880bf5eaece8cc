// The contract (defineContract, procedure, channel, codec, errors) arrives with the contract issue.
export {};
