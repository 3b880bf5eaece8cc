// The hooks' types come from the dashboard's contract.
import type { DashboardContract } from '../../dashboard/contract.js';

declare module '@switchboard/react' {
  interface Register {
    contract: DashboardContract;
  }
}
