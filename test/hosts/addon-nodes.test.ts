import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../clusters/host/command.ts';
import { clusterLayout } from '../../clusters/local/layout.ts';
import { cacheBinDir, resolveBinaries } from '../../clusters/tools/resolver.ts';
import { FLANNEL_CNI_FILE } from '../../modules/addons/flannel.ts';
import { ociArchive } from '../../modules/distributions/binaries/oci-archive.ts';
import { binariesStack, type BinariesStackFixture } from '../harness/binaries-stack.ts';
import { runInfra } from '../harness/cli.ts';
import { runOnHost, startTestHosts, stopTestHosts, type TestHost } from '../harness/test-hosts.ts';

/**
 * Add-ons for real on the SSH test hosts: a `binaries` cluster with `cni: flannel`, `csi:
 * local-path` and `addons: true` (1 control plane + 2 workers). infra imports the images it built
 * (flannel and local-path from the Go module proxy, busybox from Debian's busybox-static); the
 * nodes stay NotReady until `infra reconcile` has applied the add-ons as its own apps and
 * flanneld's DaemonSet put its CNI config on them; then two Pods on two nodes talk over the VXLAN
 * overlay, and a PVC binds to a directory on a node through local-path. gVisor is left out: runsc is built only on demand
 * (about 10 minutes cold) and a Pod under it does not start on these hosts (README: what runs
 * for real); its containerd handler and node label are planned and unit-tested (test/unit/node-addons-plan.test.ts),
 * the label step runs against a real apiserver in test/integration/node-runtime-labels.test.ts.
 */

let hosts: TestHost[];
let fx: BinariesStackFixture;
const KUBECTL = join(cacheBinDir(), 'kubectl-v1.34.4', 'kubectl');
const PROBE_IMAGE = 'infra.local/etcd-probe:1';

const kubectl = async (...args: string[]) => {
  const r = await runCommand(KUBECTL, [`--kubeconfig=${clusterLayout('net', fx.env).kubeconfig}`, ...args]);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const readyOf = async () => (await kubectl('get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}')).trim().split('\n').sort();

/** Why a wait failed: pods, events and the workers' kubelet/containerd lines. */
async function explain(err: unknown, selector: string[]): Promise<never> {
  const pods = await kubectl('describe', 'pods', ...selector).catch((e: Error) => e.message);
  const journals = await Promise.all(hosts.slice(1).map((h) => runOnHost(h, ['sh', '-c', 'journalctl -u kubelet -u containerd --no-pager -n 20 | cut -c1-300']).catch((e: Error) => e.message)));
  const flanneld = await Promise.all(['--previous=false', '--previous=true'].map((p) => kubectl('logs', '-n', 'kube-flannel', '-l', 'app=flannel', '-c', 'kube-flannel', '--tail=15', p).catch((e: Error) => e.message)));
  throw new Error(`${(err as Error).message}\nflanneld:\n${flanneld.join('\n')}\n${pods.split('\n').slice(-40).join('\n')}\n${journals.join('\n---\n')}`);
}

/** A test image (etcd as a server, etcdctl as its client) copied to a worker over SSH and imported. */
async function importProbeImage(dir: string, targets: readonly TestHost[]): Promise<void> {
  const bins = await resolveBinaries(['etcd', 'etcdctl'], { env: fx.env });
  const archive = join(dir, 'etcd-probe.tar');
  await writeFile(archive, ociArchive({
    reference: PROBE_IMAGE, architecture: 'amd64', entrypoint: '/etcd',
    files: [{ name: 'etcd', content: await readFile(bins.etcd.path), mode: 0o755 }, { name: 'etcdctl', content: await readFile(bins.etcdctl.path), mode: 0o755 }],
  }));
  for (const h of targets) {
    await runOnHost(h, ['mkdir', '-p', '/var/lib/infra/images']);
    const scp = await runCommand('scp', ['-q', '-i', h.users.root.keyPath, '-P', String(h.port), '-o', `UserKnownHostsFile=${h.knownHostsPath}`, '-o', 'IdentitiesOnly=yes', archive, `root@${h.address}:/var/lib/infra/images/etcd-probe.tar`]);
    if (scp.code !== 0) throw new Error(`scp to ${h.name}: ${scp.stderr}`);
    await runOnHost(h, ['ctr', '-n', 'k8s.io', 'images', 'import', '/var/lib/infra/images/etcd-probe.tar']);
  }
}

beforeAll(async () => {
  hosts = await startTestHosts({ count: 3, prefix: 'fl' });
  fx = await binariesStack(hosts, { cluster: 'net', controlPlanes: 1, user: 'alice', clusterFields: { cni: 'flannel', csi: 'local-path', addons: true } });
}, 600_000);

afterAll(async () => {
  await stopTestHosts();
});

describe('Flannel and local-path on real nodes, applied by the reconciler', () => {
  it('nodes are NotReady after up, and Ready once infra reconcile applied the flannel add-on and its DaemonSet put the CNI config on them', async () => {
    const up = await runInfra(['up', '-f', fx.stackFile, '--skip-apps'], fx.env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    expect(await readyOf()).toEqual(['fl-2=False', 'fl-3=False']);
    // infra imported the images it built (hosts cannot pull).
    for (const h of hosts.slice(1)) {
      const images = await runOnHost(h, ['ctr', '-n', 'k8s.io', 'images', 'ls', '-q']);
      for (const ref of ['infra.local/flannel:v0.27.4', 'infra.local/local-path-provisioner:v0.0.30', 'infra.local/busybox:1.35.0']) expect(images).toContain(ref);
    }

    // The add-ons as apps infra owns, through the reconciler (rendered for nodes infra made: its images, the apiserver directly).
    const rec = await runInfra(['reconcile', '-f', fx.stackFile], fx.env);
    try {
      expect(rec.code, `${rec.stdout}\n${rec.stderr}`).toBe(0);
      await kubectl('rollout', 'status', '-n', 'kube-flannel', 'daemonset/kube-flannel-ds', '--timeout=240s');
      await kubectl('wait', '--for=condition=Ready', 'node', '--all', '--timeout=120s');
    } catch (err) {
      await explain(err, ['-n', 'kube-flannel']);
    }
    expect(await readyOf()).toEqual(['fl-2=True', 'fl-3=True']);
    for (const h of hosts.slice(1)) {
      expect(await runOnHost(h, ['ip', '-d', 'link', 'show', 'flannel.1'])).toContain('vxlan');
      expect(await runOnHost(h, ['cat', FLANNEL_CNI_FILE])).toContain('"flannel"');
      // flanneld got through its setup: it writes the node's lease for the CNI plugin last (bounded wait on the host).
      const lease = await runOnHost(h, ['sh', '-c', 'i=0; until [ -s /run/flannel/subnet.env ]; do i=$((i+1)); [ $i -ge 60 ] && exit 1; sleep 1; done; cat /run/flannel/subnet.env']).catch((e: Error) => explain(e, ['-n', 'kube-flannel']));
      expect(lease).toMatch(/FLANNEL_SUBNET=10\.244\.\d+\.1\/24/);
    }
  }, 900_000);

  it('two Pods on two nodes reach each other by Pod IP (an etcdctl request to etcd across the overlay)', async () => {
    const [, a, b] = hosts as [TestHost, TestHost, TestHost];
    await importProbeImage(fx.dir, [a, b]);
    const pod = (name: string, node: string, command: string[], extra: Record<string, unknown> = {}) => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { probe: 'net' } },
      spec: { nodeName: node, restartPolicy: 'Never', containers: [{ name, image: PROBE_IMAGE, imagePullPolicy: 'Never', command, ...extra }], ...(extra['volumeMounts'] ? { volumes: [{ name: 'data', emptyDir: {} }] } : {}) },
    });
    const server = pod('server', a.name, ['/etcd', '--data-dir=/data/etcd', '--listen-client-urls=http://0.0.0.0:2379', '--advertise-client-urls=http://127.0.0.1:2379'], { volumeMounts: [{ name: 'data', mountPath: '/data' }] });
    await writeFile(join(fx.dir, 'server.json'), JSON.stringify(server));
    await kubectl('apply', '-f', join(fx.dir, 'server.json'));
    let serverIp = '';
    try {
      await kubectl('wait', '--for=condition=Ready', 'pod/server', '--timeout=120s');
      serverIp = (await kubectl('get', 'pod', 'server', '-o', 'jsonpath={.status.podIP}')).trim();
    } catch (err) {
      await explain(err, ['-l', 'probe=net']);
    }
    const client = pod('client', b.name, ['/etcdctl', `--endpoints=http://${serverIp}:2379`, '--command-timeout=20s', 'put', 'greeting', 'across-nodes']);
    await writeFile(join(fx.dir, 'client.json'), JSON.stringify(client));
    await kubectl('apply', '-f', join(fx.dir, 'client.json'));
    try {
      await kubectl('wait', '--for=jsonpath={.status.phase}=Succeeded', 'pod/client', '--timeout=120s');
    } catch (err) {
      const logs = await kubectl('logs', 'client').catch((e: Error) => e.message);
      await explain(new Error(`${(err as Error).message}\nclient logs: ${logs}`), ['-l', 'probe=net']);
    }
    expect((await kubectl('logs', 'client')).trim()).toBe('OK');
    const clientIp = (await kubectl('get', 'pod', 'client', '-o', 'jsonpath={.status.podIP}')).trim();
    // Two nodes, two Pod subnets of the cluster CIDR (each node's /24 from the controller-manager).
    expect(serverIp).toMatch(/^10\.244\.\d+\.\d+$/);
    expect(clientIp.split('.').slice(0, 3)).not.toEqual(serverIp.split('.').slice(0, 3));
  }, 600_000);

  it('a PVC binds through local-path: a directory on the node the Pod runs on, removed with the claim', async () => {
    const [, , b] = hosts as [TestHost, TestHost, TestHost];
    try {
      await kubectl('rollout', 'status', '-n', 'local-path-storage', 'deployment/local-path-provisioner', '--timeout=180s');
    } catch (err) {
      await explain(err, ['-n', 'local-path-storage']);
    }
    const objects = [
      { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } } } },
      {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'writer', namespace: 'default', labels: { probe: 'pvc' } },
        spec: {
          // Scheduled, not placed by nodeName: a WaitForFirstConsumer claim binds where the scheduler puts its first Pod.
          nodeSelector: { 'kubernetes.io/hostname': b.name }, restartPolicy: 'Never',
          containers: [{ name: 'writer', image: 'infra.local/busybox:1.35.0', imagePullPolicy: 'Never', command: ['sh', '-c', 'echo kept > /data/greeting'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
        },
      },
    ];
    await writeFile(join(fx.dir, 'pvc.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
    await kubectl('apply', '-f', join(fx.dir, 'pvc.json'));
    try {
      await kubectl('wait', '--for=jsonpath={.status.phase}=Succeeded', 'pod/writer', '--timeout=180s');
    } catch (err) {
      const provisioner = await kubectl('logs', '-n', 'local-path-storage', 'deployment/local-path-provisioner', '--tail=30').catch((e: Error) => e.message);
      await explain(new Error(`${(err as Error).message}\nprovisioner:\n${provisioner}`), ['-l', 'probe=pvc']);
    }
    expect((await kubectl('get', 'pvc', 'data', '-o', 'jsonpath={.status.phase}')).trim()).toBe('Bound');
    const pv = (await kubectl('get', 'pvc', 'data', '-o', 'jsonpath={.spec.volumeName}')).trim();
    const dir = (await kubectl('get', 'pv', pv, '-o', 'jsonpath={.spec.hostPath.path}{.spec.local.path}')).trim();
    expect(dir.startsWith('/var/lib/infra/local-path/')).toBe(true);
    expect((await runOnHost(b, ['cat', `${dir}/greeting`])).trim()).toBe('kept');
    // Reclaim policy Delete: the teardown helper Pod removes the directory, then the PV goes.
    await kubectl('delete', 'pod', 'writer', '--wait=true');
    await kubectl('delete', 'pvc', 'data', '--wait=true');
    await kubectl('wait', '--for=delete', `pv/${pv}`, '--timeout=120s');
    expect((await runOnHost(b, ['sh', '-c', `test -e ${dir} && echo left || echo removed`])).trim()).toBe('removed');
  }, 600_000);
});
