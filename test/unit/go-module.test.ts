import { describe, expect, it } from 'vitest';
import { goBuildArgs, goDirective, stagingReplaces, wrapperGoMod } from '../../clusters/tools/go-module.ts';
import { BINARIES } from '../../clusters/tools/versions.ts';

const KUBERNETES_GO_MOD = `module k8s.io/kubernetes

go 1.24.0

require (
	k8s.io/api v0.0.0
	github.com/spf13/cobra v1.9.1
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	github.com/example/fork => github.com/other/fork v1.0.0
)
`;

describe('wrapper modules for Go builds', () => {
  it('reads the go directive', () => {
    expect(goDirective(KUBERNETES_GO_MOD)).toBe('1.24.0');
    expect(goDirective('module x\n')).toBeUndefined();
  });

  it('finds only the ./staging replaces', () => {
    expect(stagingReplaces(KUBERNETES_GO_MOD)).toEqual(['k8s.io/api', 'k8s.io/client-go']);
    expect(stagingReplaces('replace k8s.io/api => ./staging/src/k8s.io/api\n')).toEqual(['k8s.io/api']);
  });

  it('pins each staging module to the matching v0 release', () => {
    const mod = wrapperGoMod(BINARIES['kube-apiserver'].recipe, KUBERNETES_GO_MOD);
    expect(mod).toContain('require k8s.io/kubernetes v1.34.4');
    expect(mod).toContain('\tk8s.io/api => k8s.io/api v0.34.4\n');
    expect(mod).toContain('\tk8s.io/client-go => k8s.io/client-go v0.34.4\n');
    expect(mod).not.toContain('github.com/example/fork');
    expect(mod).toContain('go 1.24.0');
  });

  it('adds no replace block for modules without staging', () => {
    expect(wrapperGoMod(BINARIES.kwok.recipe, 'module sigs.k8s.io/kwok\n\ngo 1.24.0\n')).not.toContain('replace');
  });

  it('stamps the Kubernetes version so the binary does not report v0.0.0', () => {
    const args = goBuildArgs(BINARIES['kube-apiserver'].recipe, '/out/kube-apiserver');
    const ldflags = args[args.indexOf('-ldflags') + 1];
    expect(ldflags).toContain('-X k8s.io/component-base/version.gitVersion=v1.34.4');
    expect(ldflags).toContain('-X k8s.io/client-go/pkg/version.gitMinor=34');
    expect(args).toContain('selinux,notest,grpcnotrace');
    expect(args.at(-1)).toBe('k8s.io/kubernetes/cmd/kube-apiserver');
  });
});
