import { beforeAll, describe, expect, it } from 'vitest';
import { ensureClusterPki, type ClusterPki } from '../../modules/distributions/binaries/cluster-pki.ts';
import { controlPlaneFiles, workerFiles } from '../../modules/distributions/binaries/host-files.ts';
import { clusterFacts } from '../../modules/addons/facts.ts';
import { runtimes, runtimeNodeLabel } from '../../modules/addons/runtimes.ts';
import { ADDON_IMAGES, nodeAddonsOf } from '../../modules/distributions/binaries/node-addons.ts';
import { nodeLabelStep } from '../../modules/distributions/binaries/node-labels.ts';
import { runSteps, type StepHost } from '../../modules/distributions/binaries/run-steps.ts';
import { workerSteps, type Artifacts } from '../../modules/distributions/binaries/steps.ts';
import { planTopology } from '../../modules/distributions/binaries/topology.ts';
import type { ClusterSpec, Cni, HostSpec } from '../../stacks/model.ts';

/** The CNI choice follows the stack: infra's bridge, or the add-on's network (and its images, runtimes). */

const host = (name: string, n: number): HostSpec => ({ name, site: 'lab', address: `10.213.0.${n}`, user: 'root', port: 22, arch: 'amd64', disks: [] });
const HOSTS = [host('cp1', 11), host('w1', 21), host('w2', 22)];
const cluster = (cni: Cni, more: Partial<ClusterSpec> = {}): ClusterSpec => ({
  name: 'lab', local: false, labels: {}, site: 'lab', distribution: 'kubernetes', version: '1.34.4', controlPlanes: 1, nodes: 2,
  hosts: HOSTS.map((h) => h.name), datastore: 'embedded-etcd', cni, csi: 'none', runtimes: [], addons: true, ...more,
});
const art = (n: string) => ({ path: `/cache/${n}`, sha256: 'a'.repeat(64) });
const artifacts: Artifacts = {
  binaries: Object.fromEntries(['kubelet', 'cni-bridge', 'cni-host-local', 'cni-loopback', 'cni-portmap', 'runsc', 'containerd-shim-runsc-v1'].map((b) => [b, art(b)])),
  pauseImage: art('pause.tar'),
  addonImages: { flannel: art('flannel.tar'), 'local-path': art('local-path.tar'), busybox: art('busybox.tar') },
};

let pki: ClusterPki;
beforeAll(async () => {
  pki = await ensureClusterPki(planTopology(cluster('flannel'), HOSTS), undefined);
});

const plan = (c: ClusterSpec) => {
  const t = planTopology(c, HOSTS);
  const node = t.workers[0]!;
  const files = workerFiles(t, node, pki, { cgroupDriver: 'cgroupfs' });
  return { t, files, steps: workerSteps(t, node, files, artifacts), cp: controlPlaneFiles(t, t.controlPlanes[0]!, pki) };
};
const unit = (files: { path: string; content: string }[], name: string) => files.find((f) => f.path === `/etc/systemd/system/${name}.service`)?.content ?? '';

describe('the Pod network follows the stack’s cni', () => {
  it('bridge: infra writes the bridge CNI config and routes Pod ranges host to host', () => {
    const { files, steps, cp } = plan(cluster('bridge'));
    expect(files.map((f) => f.path)).toContain('/etc/cni/net.d/10-infra-bridge.conflist');
    expect(steps.some((s) => s.id.startsWith('route:'))).toBe(true);
    expect(unit(cp, 'kube-controller-manager')).toContain('--allocate-node-cidrs=false');
  });

  it('flannel: no CNI config and no routes from infra; node CIDRs allocated; the flannel image imported', () => {
    const { files, steps, cp } = plan(cluster('flannel'));
    expect(files.map((f) => f.path).filter((p) => p.startsWith('/etc/cni/'))).toEqual([]);
    expect(steps.some((s) => s.id.startsWith('route:'))).toBe(false);
    expect(unit(cp, 'kube-controller-manager')).toContain('--allocate-node-cidrs=true');
    expect(unit(cp, 'kube-controller-manager')).toContain('--cluster-cidr=10.244.0.0/16');
    const ids = steps.map((s) => s.id);
    expect(ids).toContain('image:flannel:import');
    expect(steps.find((s) => s.id === 'image:flannel:import')?.check).toContain(ADDON_IMAGES.flannel);
    // Imported after containerd (re)starts, before the kubelet.
    expect(ids.indexOf('service:containerd')).toBeLessThan(ids.indexOf('image:flannel:import'));
    expect(ids.indexOf('image:flannel:import')).toBeLessThan(ids.indexOf('service:kubelet'));
  });

  it('local-path and gVisor: the provisioner image and its helper (busybox), runsc and its shim, and a runsc handler in containerd', () => {
    const { files, steps } = plan(cluster('flannel', { csi: 'local-path', runtimes: ['gvisor'] }));
    const ids = steps.map((s) => s.id);
    expect(ids).toContain('image:local-path:import');
    expect(ids).toContain('image:busybox:import');
    expect(ids).toContain('binary:runsc');
    expect(ids).toContain('binary:containerd-shim-runsc-v1');
    expect(steps.find((s) => s.id === 'service:containerd')?.rerunAfter).toContain('binary:runsc');
    const containerd = files.find((f) => f.path === '/etc/containerd/config.toml')?.content ?? '';
    expect(containerd).toContain('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]');
    expect(containerd).toContain('runtime_type = "io.containerd.runsc.v1"');
  });

  it('plans nothing for add-ons the stack does not name', () => {
    expect(nodeAddonsOf(cluster('bridge'))).toEqual({ podNetwork: 'routes', images: [], gvisor: false });
    expect(nodeAddonsOf(cluster('cilium'))).toEqual({ podNetwork: 'addon', images: [], gvisor: false });
  });

  it('keeps infra\'s bridge when infra does not install the add-ons (nothing else would bring the Pod network)', () => {
    expect(nodeAddonsOf(cluster('flannel', { addons: false }))).toEqual({ podNetwork: 'routes', images: [], gvisor: false });
    expect(nodeAddonsOf(cluster('cilium', { addons: undefined }))).toEqual({ podNetwork: 'routes', images: [], gvisor: false });
  });
});

describe('nodes claim the runtimes whose handler they got (what the RuntimeClasses select)', () => {
  const flagOf = (c: ClusterSpec) => /--node-labels=(\S+)/.exec(unit(plan(c).files, 'kubelet'))?.[1];

  it('gVisor: the kubelet registers its Node with the label the gvisor RuntimeClass selects', () => {
    expect(flagOf(cluster('flannel', { runtimes: ['gvisor'] }))).toBe(`${runtimeNodeLabel('gvisor')}=true`);
    const c = cluster('flannel', { runtimes: ['gvisor'] });
    const [gvisor] = runtimes.render(clusterFacts({ hosts: HOSTS, clusters: [c] }, c));
    expect(gvisor).toMatchObject({ handler: 'runsc', scheduling: { nodeSelector: { 'infra.dev/runtime-gvisor': 'true' } } });
  });

  it('no label for kata (this distribution installs no kata handler) nor without sandbox runtimes: the kubelet unit stays as before', () => {
    expect(flagOf(cluster('flannel', { runtimes: ['gvisor', 'kata'] }))).toBe('infra.dev/runtime-gvisor=true');
    expect(flagOf(cluster('flannel', { runtimes: ['kata'] }))).toBeUndefined();
    expect(unit(plan(cluster('bridge')).files, 'kubelet')).not.toContain('--node-labels');
  });

  it('a Node registered before gets the label through the apiserver; one whose runtime left loses it', () => {
    const add = nodeLabelStep('kubectl', 'w1', nodeAddonsOf(cluster('bridge', { runtimes: ['gvisor'] })));
    expect(add.check).toBe(`[ "$(kubectl get node w1 -o jsonpath='{.metadata.labels.infra\\.dev/runtime-gvisor}{";"}' 2>/dev/null)" = 'true;' ]`);
    expect(add.apply).toEqual([{ kind: 'run', script: `kubectl patch node w1 --type=merge -p '{"metadata":{"labels":{"infra.dev/runtime-gvisor":"true"}}}' >/dev/null` }]);
    const drop = nodeLabelStep('kubectl', 'w1', nodeAddonsOf(cluster('bridge', { runtimes: ['kata'] })));
    expect(drop.check).toContain(`= ';' ]`);
    expect(drop.apply).toEqual([{ kind: 'run', script: `kubectl patch node w1 --type=merge -p '{"metadata":{"labels":{"infra.dev/runtime-gvisor":null}}}' >/dev/null` }]);
    expect(drop.title).toBe('label node w1 (infra.dev/runtime-gvisor-)');
  });

  it('labels only when the check finds the Node without them: a second run changes nothing', async () => {
    let labelled = false;
    const changes: string[] = [];
    const host: StepHost = {
      name: 'cp1',
      check: async () => labelled,
      change: async (_step, script) => {
        changes.push(script);
        labelled = true;
      },
      upload: async () => undefined,
    };
    const step = nodeLabelStep('kubectl', 'w1', nodeAddonsOf(cluster('bridge', { runtimes: ['gvisor'] })));
    const readLocal = async () => Buffer.from('');
    expect((await runSteps(host, [step], { readLocal })).mutations).toBe(1);
    expect((await runSteps(host, [step], { readLocal })).mutations).toBe(0);
    expect(changes).toHaveLength(1);
  });
});
