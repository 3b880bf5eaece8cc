// The React dashboard's server: the plant dashboard's server (feed, alerts, router, stats)
// with 25 sensors per zone (100 tiles) and the React page, rendered on the server.
import { type DashboardOptions, type RunningDashboard, startDashboard } from '../../dashboard/server/dashboard.js';
import { reactPage } from './page.js';

export interface RunningReactDashboard extends RunningDashboard {
  /** Pages rendered on the server so far. */
  readonly rendered: () => number;
}

export const SENSORS_PER_ZONE = 25;

export async function startReactDashboard(
  options: Omit<DashboardOptions, 'page'> = {},
): Promise<RunningReactDashboard> {
  const page = reactPage();
  const dashboard = await startDashboard({
    ...options,
    feed: { sensorsPerZone: SENSORS_PER_ZONE, ...options.feed },
    page,
  });
  return { ...dashboard, rendered: () => page.renders };
}
