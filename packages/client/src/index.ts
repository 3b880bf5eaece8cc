// createClient arrives with the contract issue.
export {};
