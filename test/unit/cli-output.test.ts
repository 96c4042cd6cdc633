import { describe, expect, it } from 'vitest';
import { diffExitCode, statusTable } from '../../cli/commands/gitops.ts';
import { foldError } from '../../cli/status-message.ts';
import { planOrder } from '../../modules/engine/plan-order.ts';
import type { AppStatus } from '../../reconciler/types.ts';

const LONG_PREFIX = 'failed to create typed patch object (web/web; apps/v1, Kind=Deployment): errors:\n  ';

function status(over: Partial<AppStatus>): AppStatus {
  return { app: 'web', cluster: 'core', revision: 'abcdef0123456789', sync: 'Failed', health: 'Unknown', objects: 0, drifted: [], ...over } as AppStatus;
}

describe('status messages', () => {
  it('fold a multi-line API error to one line with the field complaint first', () => {
    const line = foldError({ reason: 'ValidationFailed', where: 'apps/web/deploy.yaml:7', message: `${LONG_PREFIX}.spec.replicass: field not declared in schema` });
    expect(line).toBe('ValidationFailed: .spec.replicass: field not declared in schema (apps/web/deploy.yaml:7) — failed to create typed patch object (web/web; apps/v1, Kind=Deployment): errors');
  });

  it('keep the key part even behind a prefix longer than the old 160-character cut', () => {
    const prefix = `admission webhook "validate.example.com" denied the request: ${'x'.repeat(200)}`;
    const table = statusTable([status({ error: { reason: 'ValidationFailed', message: `${prefix}\nspec.template.spec.containers[0].image: Required value` } })]);
    expect(table.split('\n')).toHaveLength(2);
    expect(table).toContain('ValidationFailed: spec.template.spec.containers[0].image: Required value — admission webhook');
  });

  it('leave an error without a field path as it is, on one line', () => {
    expect(foldError({ reason: 'SourceFailed', message: 'git fetch failed:\nrepository not found' })).toBe('SourceFailed: git fetch failed: repository not found');
  });
});

describe('infra diff exit codes (like kubectl diff)', () => {
  const plan = (apply: number, prune: number) => ({ app: 'a', cluster: 'c', revision: 'r', apply: Array.from({ length: apply }, () => ({ object: 'x', change: 'create', fields: [] })), prune: Array.from({ length: prune }, () => 'y') });
  it('0 without differences, 1 with differences, 2 when something could not be planned', () => {
    expect(diffExitCode([plan(0, 0)] as never)).toBe(0);
    expect(diffExitCode([plan(0, 0), plan(1, 0)] as never)).toBe(1);
    expect(diffExitCode([plan(0, 1)] as never)).toBe(1);
    expect(diffExitCode([plan(1, 0), status({ error: { reason: 'RenderFailed', message: 'bad YAML' } })] as never)).toBe(2);
  });
});

describe('plans', () => {
  it('are ordered by type, then name, whatever order the engine reported them in', () => {
    const steps = [
      { op: 'create', type: 'pulumi-nodejs:dynamic:Resource', name: 'local:b' },
      { op: 'create', type: 'infra:apps:App', name: 'z' },
      { op: 'create', type: 'pulumi-nodejs:dynamic:Resource', name: 'local:a' },
    ];
    expect(planOrder(steps).map((s) => s.name)).toEqual(['z', 'local:a', 'local:b']);
    expect(planOrder([...steps].reverse())).toEqual(planOrder(steps));
  });
});
