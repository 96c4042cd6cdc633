/** One step of a plan: an operation on one resource. */
export interface ResourceChange {
  readonly op: string;
  readonly type: string;
  readonly name: string;
  /** What the change does on its host, in order (preview of a ControlPlaneMember or ClusterNode). */
  readonly detail?: readonly string[];
}

/**
 * The order a plan is shown in: by resource type, then name, then operation — like a
 * Terraform plan — never the order the engine's events happened to arrive in, so the same
 * stack always gives the same plan. Pure.
 */
export function planOrder(steps: readonly ResourceChange[]): ResourceChange[] {
  const key = (s: ResourceChange) => [s.type, s.name, s.op] as const;
  return [...steps].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) {
      if (ka[i] !== kb[i]) return (ka[i] ?? '') < (kb[i] ?? '') ? -1 : 1;
    }
    return 0;
  });
}
