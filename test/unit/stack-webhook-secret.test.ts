import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseStack } from '../../stacks/load.ts';

const stack = (webhook: string) => `apiVersion: infra.dev/v1alpha1\nkind: Stack\ngitops:\n  sources:\n    - name: repo\n      url: /srv/git/app.git\n${webhook}`;

describe('gitops.sources[].webhook', () => {
  it('reads a secret file or env var', () => {
    expect(parseStack('s.yaml', stack('      webhook:\n        secretFile: hook.secret\n')).gitops.sources[0]?.webhook).toEqual({ secretFile: resolve('hook.secret') });
    expect(parseStack('s.yaml', stack('      webhook:\n        secretEnv: HOOK_SECRET\n')).gitops.sources[0]?.webhook).toEqual({ secretEnv: 'HOOK_SECRET' });
    expect(parseStack('s.yaml', stack('')).gitops.sources[0]?.webhook).toBeUndefined();
  });

  it('wants exactly one of them, and no other key', () => {
    expect(() => parseStack('s.yaml', stack('      webhook:\n        secretFile: a\n        secretEnv: B\n'))).toThrow(/gitops\.sources\[0\]\.webhook: expected exactly one of secretFile or secretEnv/);
    expect(() => parseStack('s.yaml', stack('      webhook:\n        secret: inline\n'))).toThrow(/secret/);
  });
});
