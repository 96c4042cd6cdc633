import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddonFacts } from '../../modules/addons/addon.ts';
import { addonApps } from '../../modules/addons/apps.ts';
import { ADDONS } from '../../modules/addons/registry.ts';
import { CLI_TEST_TIMEOUT_MS, runInfra } from '../harness/cli.ts';
import { testClusters } from '../harness/environment.ts';
import type { TestCluster } from '../harness/environment-spec.ts';
import { GitFixture } from '../harness/git-fixture.ts';
import { byCluster, readObject, reconcileOnce } from '../harness/reconcile-helpers.ts';
import { stackFor } from '../harness/stack-fixture.ts';
import { stuckAddon } from '../harness/stuck-addon.ts';

/**
 * Every add-on renders, passes the strict server-side dry-run (Rook-Ceph's CRDs before its CRs),
 * applies as an app infra owns, is pruned like one, and reports health from the live objects —
 * on the local test clusters, whose nodes are kwok's.
 */

const [first, second] = testClusters() as [TestCluster, TestCluster];
let repo: GitFixture;
let scratch: string;
beforeAll(async () => {
  repo = await GitFixture.create();
  await repo.commit({ 'web/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {a: "1"}\n' });
  scratch = await mkdtemp(join(tmpdir(), 'infra-addons-'));
});
afterAll(async () => {
  repo.remove();
  await rm(scratch, { recursive: true, force: true });
});

const disked = (name: string) => ({ name, site: 'lab', address: '192.0.2.1', user: 'root', port: 22, arch: 'amd64' as const, disks: ['/dev/vdb'] });
const facts = (c: TestCluster, i: number, over: Partial<AddonFacts>): AddonFacts => ({
  cluster: c.name,
  path: ['clusters', i],
  distribution: 'local',
  local: true,
  existing: false,
  podCidr: '10.244.0.0/16',
  serviceCidr: '10.96.0.0/16',
  nodes: 2,
  hosts: [],
  cni: 'flannel',
  csi: 'none',
  runtimes: [],
  cilium: { kubeProxyReplacement: true, routing: 'tunnel', ipam: 'kubernetes' },
  ...over,
});

describe('add-ons on local clusters (kwok nodes)', () => {
  it('every add-on applies as an app infra owns, before the stack\'s apps; health is reported from the live objects; a removed runtime is pruned', { timeout: 240_000 }, async () => {
    const estate = [
      facts(first, 0, { cni: 'flannel', csi: 'rook-ceph', hosts: ['n1', 'n2', 'n3'].map(disked), runtimes: ['gvisor', 'kata'] }),
      facts(second, 1, { cni: 'cilium', csi: 'local-path' }),
    ];
    const builtins = addonApps(estate);
    expect(builtins.map((b) => b.spec.name).sort()).toEqual(ADDONS.map((a) => `addon-${a.name}`).sort());
    const stack = stackFor(repo.dir, [{ name: 'web', path: 'web', namespace: 'default', targets: { clusters: [first.name, second.name] } }]);

    const statuses = await reconcileOnce(stack, { builtins });
    const want: [string, TestCluster][] = [
      ['addon-flannel', first], ['addon-rook-ceph', first], ['addon-runtimes', first],
      ['addon-cilium', second], ['addon-local-path', second],
    ];
    for (const [app, c] of want) expect(byCluster(statuses, app).get(c.name), `${app} on ${c.name}`).toMatchObject({ sync: 'Synced', health: 'Healthy' });
    // The stack's app waited for the add-ons of its clusters (it would be DependencyNotReady otherwise) and then synced.
    expect(statuses.filter((s) => s.app === 'web').map((s) => [s.cluster, s.sync, s.health])).toEqual([[first.name, 'Synced', 'Healthy'], [second.name, 'Synced', 'Healthy']]);
    expect(await readObject(first, 'ceph.rook.io/v1', 'CephCluster', 'rook-ceph', 'rook-ceph')).toMatchObject({ metadata: { labels: { 'infra.dev/app': 'addon-rook-ceph' } } });
    expect(await readObject(first, 'node.k8s.io/v1', 'RuntimeClass', 'gvisor')).toMatchObject({ handler: 'runsc' });
    expect(await readObject(second, 'apps/v1', 'DaemonSet', 'cilium', 'kube-system')).toBeDefined();

    // kwok nodes: health is only what the objects say; the add-ons say what cannot be observed.
    for (const f of estate) for (const a of ADDONS.filter((x) => x.wanted(f))) expect(a.unobservable(f).join(' '), a.name).toMatch(/kwok/);

    // One runtime leaves the stack: its RuntimeClass is pruned like any object that leaves Git.
    const fewer = addonApps([{ ...estate[0]!, runtimes: ['gvisor'] }, estate[1]!]);
    const again = await reconcileOnce(stack, { builtins: fewer, apps: ['addon-runtimes'] });
    expect(byCluster(again, 'addon-runtimes').get(first.name)).toMatchObject({ sync: 'Synced', health: 'Healthy', objects: 1 });
    expect(await readObject(first, 'node.k8s.io/v1', 'RuntimeClass', 'kata')).toBeUndefined();
    expect(await readObject(first, 'node.k8s.io/v1', 'RuntimeClass', 'gvisor')).toBeDefined();
  });

  it('infra preview refuses a stack whose add-ons cannot work, naming the path and line, before the engine starts', { timeout: CLI_TEST_TIMEOUT_MS }, async () => {
    const file = join(scratch, 'bad.yaml');
    await writeFile(
      file,
      [
        'apiVersion: infra.dev/v1alpha1',
        'kind: Stack',
        'sites:',
        '  - {name: dc, kind: ssh}',
        'hosts:',
        '  - {name: h1, site: dc, address: 192.0.2.1, disks: [/dev/vdb]}',
        '  - {name: h2, site: dc, address: 192.0.2.2, disks: [/dev/vdb]}',
        'clusters:',
        '  - name: core',
        '    hosts: [h1, h2]',
        '    csi: rook-ceph',
        '    cni: cilium',
        '    podCidr: 10.96.0.0/12',
        '',
      ].join('\n'),
    );
    const r = await runInfra(['preview', '-f', file], { ...process.env, INFRA_HOME: join(scratch, 'home'), INFRA_OFFLINE: '1' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/clusters\[0\]\.podCidr: the pod CIDR 10\.96\.0\.0\/12 overlaps the service CIDR 10\.96\.0\.0\/16.*\(.*bad\.yaml:13\)/);
    expect(r.stderr).toMatch(/clusters\[0\]\.csi: rook-ceph needs at least 3 hosts with spare disks.*only h1, h2 have disks.*\(.*bad\.yaml:11\)/);
  });

  it('from the stack through the CLI: reconcile applies the add-ons of clusters with addons: true, status has a row per add-on and cluster and says what it cannot observe, preview diffs against what was applied', { timeout: 180_000 }, async () => {
    const file = join(scratch, 'stack.yaml');
    const write = (runtimes: string) =>
      writeFile(
        file,
        [
          'apiVersion: infra.dev/v1alpha1',
          'kind: Stack',
          'metadata: {name: addons-apply}',
          'clusters:',
          ...[first, second].map((c) => `  - {name: ${c.name}, kubeconfig: ${c.kubeconfig}, addons: true, csi: local-path, runtimes: [${runtimes}]}`),
          '',
        ].join('\n'),
      );
    await write('gvisor');
    const env = { ...process.env, INFRA_HOME: join(scratch, 'home'), INFRA_OFFLINE: '1' };
    const rec = await runInfra(['reconcile', '-f', file, '--json'], env);
    expect(rec.stderr).not.toMatch(/error/i);
    expect(rec.code).toBe(0);
    const st = await runInfra(['status', '-f', file], env);
    expect(st.code).toBe(0);
    for (const app of ['addon-flannel', 'addon-local-path', 'addon-runtimes']) {
      for (const c of [first, second]) expect(st.stdout).toMatch(new RegExp(`${app}\\s+${c.name}\\s+\\S+\\s+Synced\\s+Healthy`));
    }
    expect(st.stdout).toContain(`addon-flannel on ${first.name}: the cluster's nodes are kwok's`);
    expect(st.stdout).toContain(`addon-runtimes on ${second.name}: kwok nodes have no container runtime`);

    await write('gvisor, kata');
    const pv = await runInfra(['preview', '-f', file], env);
    expect(pv.stdout).toContain(['add-ons:', `  ~ runtimes on ${first.name} (rendered objects differ)`, `  ~ runtimes on ${second.name} (rendered objects differ)`].join('\n'));

    // A round that does not render add-ons (no builtin list) leaves them alone instead of pruning them as departed.
    const plain = await reconcileOnce(stackFor(repo.dir, [{ name: 'web', path: 'web', namespace: 'default', targets: { clusters: [first.name] } }]));
    expect(plain.filter((s) => s.app.startsWith('addon-'))).toEqual([]);
    expect(await readObject(first, 'apps/v1', 'DaemonSet', 'kube-flannel-ds', 'kube-flannel')).toBeDefined();
  });

  it('the stack\'s apps wait for the add-ons of their cluster: an add-on that does not become Healthy holds them back there only', { timeout: 120_000 }, async () => {
    const stuck = stuckAddon(first.name, 'stuck');
    const stack = stackFor(repo.dir, [{ name: 'web', path: 'web', namespace: 'default', targets: { clusters: [first.name, second.name] } }]);
    const statuses = await reconcileOnce(stack, { builtins: [stuck] });
    expect(byCluster(statuses, 'addon-stuck').get(first.name)?.health).toBe('Progressing');
    expect(byCluster(statuses, 'web').get(first.name)).toMatchObject({ sync: 'Failed', error: { reason: 'DependencyNotReady', message: 'waits for app "addon-stuck" to be Synced and Healthy' } });
    expect(byCluster(statuses, 'web').get(second.name)).toMatchObject({ sync: 'Synced', health: 'Healthy' });
    await reconcileOnce(stack, { builtins: [] }); // the stuck add-on leaves: pruned
    expect(await readObject(first, 'apps/v1', 'Deployment', 'stuck', 'default')).toBeUndefined();
  });
});
