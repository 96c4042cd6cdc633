import { describe, expect, it } from 'vitest';
import { EmptyRenderRefused, planPrune, type LiveFacts } from '../../reconciler/prune/prune-plan.ts';

const entry = (key: string) => ({ key, apiVersion: key.startsWith('/') ? 'v1' : 'apps/v1', digest: 'd' });
const facts = (over: Partial<LiveFacts> = {}): LiveFacts => ({
  ownerOf: () => 'web',
  pruneDisabled: () => false,
  foreignObjectsIn: () => 0,
  ...over,
});

describe('prune planning', () => {
  it('deletes what left Git and is still ours', () => {
    expect(planPrune('web', [entry('/ConfigMap/a/x')], 3, false, facts())).toEqual([{ key: '/ConfigMap/a/x', action: 'delete' }]);
  });

  it('forgets objects that are gone or carry another owner label, never deleting them', () => {
    const decisions = planPrune('web', [entry('/ConfigMap/a/gone'), entry('/ConfigMap/a/taken'), entry('/ConfigMap/a/bare')], 1, false, facts({
      ownerOf: (k) => (k.endsWith('gone') ? 'absent' : k.endsWith('taken') ? 'other-app' : undefined),
    }));
    expect(decisions.map((d) => d.action)).toEqual(['forget', 'forget', 'forget']);
  });

  it('honours the never-prune annotation', () => {
    expect(planPrune('web', [entry('/ConfigMap/a/x')], 1, false, facts({ pruneDisabled: () => true }))[0]?.action).toBe('forget');
  });

  it('keeps a namespace holding objects we do not own', () => {
    const [d] = planPrune('web', [entry('/Namespace//shop')], 1, false, facts({ foreignObjectsIn: (ns) => (ns === 'shop' ? 2 : 0) }));
    expect(d).toEqual({ key: '/Namespace//shop', action: 'keep', why: 'namespace holds 2 object(s) we do not own' });
  });

  it('refuses to prune everything when the render is empty, unless allowed', () => {
    expect(() => planPrune('web', [entry('/ConfigMap/a/x')], 0, false, facts())).toThrow(EmptyRenderRefused);
    expect(planPrune('web', [entry('/ConfigMap/a/x')], 0, true, facts())[0]?.action).toBe('delete');
    expect(planPrune('web', [], 0, false, facts())).toEqual([]);
  });
});
