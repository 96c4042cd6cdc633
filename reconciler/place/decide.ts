import { placeApp } from './placement.ts';
import type { Decision, DecideInput } from './types.ts';

/** The whole placement + failover decision for one app at `now`. Pure. (Stub: every candidate; engine follows.) */
export function decide(input: DecideInput): Decision {
  const chosen = placeApp(input.app, input.clusters).map((c) => c.name);
  const desired = chosen.map((cluster) => ({ cluster }));
  return {
    desired,
    explain: chosen.map((cluster) => ({ cluster, chosen: true, rule: 'candidate' })),
    moves: [],
    purge: [],
    pending: [],
    next: { app: input.app.name, clusters: chosen, home: chosen, moves: input.state?.moves ?? [], pending: [], revision: input.state?.revision ?? 0 },
  };
}
