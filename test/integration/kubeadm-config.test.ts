import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../clusters/host/command.ts';
import { createCertificateAuthority, createServiceAccountKey } from '../../clusters/local/pki.ts';
import { resolveBinary } from '../../clusters/tools/resolver.ts';
import type { BinariesTopology } from '../../modules/distributions/binaries/topology.ts';
import { caCertHash, initConfig, joinConfig, type KubeadmInputs } from '../../modules/distributions/kubeadm/kubeadm-config.ts';
import { firstControlPlaneSteps, type KubeadmCas } from '../../modules/distributions/kubeadm/kubeadm-steps.ts';

/**
 * The kubeadm distribution's files, checked by the real kubeadm 1.34.4 (built from the Go
 * module proxy like the control plane): its strict config validation, the images it would
 * run, and its certificate phase issuing from the CAs infra uploads.
 */

const t: BinariesTopology = {
  cluster: 'prod',
  version: '1.34.4',
  controlPlanes: [1, 2, 3].map((n) => ({ name: `cp-${n}`, address: `10.213.0.${10 + n}`, user: 'root', port: 22 })),
  workers: [{ name: 'w-1', address: '10.213.0.21', user: 'root', port: 22, podCidr: '10.244.1.0/24' }],
  apiserverUrl: 'https://10.213.0.11:6443',
  serviceCidr: '10.96.0.0/16',
  kubernetesServiceIp: '10.96.0.1',
  clusterCidr: '10.244.0.0/16',
  clusterDomain: 'cluster.local',
};

let dir: string;
let kubeadm: string;
let inputs: KubeadmInputs;
let cas: KubeadmCas;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-kubeadm-'));
  kubeadm = (await resolveBinary('kubeadm')).path;
  cas = { ca: await createCertificateAuthority('infra-prod-ca'), frontProxyCa: await createCertificateAuthority('front-proxy-ca'), etcdCa: await createCertificateAuthority('etcd-ca'), serviceAccount: await createServiceAccountKey() };
  inputs = { topology: t, token: 'abcdef.0123456789abcdef', caCert: cas.ca.cert, cgroupDriver: 'systemd' };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function kubeadmOn(name: string, content: string, ...args: string[]) {
  const file = join(dir, name);
  await writeFile(file, content, { mode: 0o600 });
  return runCommand(kubeadm, [...args, '--config', file]);
}

describe('kubeadm configs against the real kubeadm', () => {
  it('init, control-plane join and worker join configs pass `kubeadm config validate` (strict)', async () => {
    for (const [name, content] of [
      ['init.yaml', initConfig(inputs)],
      ['join-cp.yaml', joinConfig(inputs, t.controlPlanes[1] as (typeof t.controlPlanes)[number], true)],
      ['join-worker.yaml', joinConfig(inputs, t.workers[0] as (typeof t.workers)[number], false)],
    ] as const) {
      const r = await kubeadmOn(name, content, 'config', 'validate');
      expect({ name, code: r.code, stderr: r.stderr }).toEqual({ name, code: 0, stderr: '' });
    }
    // The check can fail: a field kubeadm does not know is refused.
    const wrong = await kubeadmOn('wrong.yaml', initConfig(inputs).replace('imagePullPolicy: Never', 'imagePullPolicy: Never\n  imagePullPolicyy: Never'), 'config', 'validate');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/imagePullPolicyy/);
  });

  it('every image kubeadm would run comes from the local repository (hosts have no registry)', async () => {
    const r = await kubeadmOn('images.yaml', initConfig(inputs), 'config', 'images', 'list');
    expect(r.code).toBe(0);
    const images = r.stdout.trim().split('\n');
    expect(images).toContain('infra.local/k8s/kube-apiserver:v1.34.4');
    expect(images.every((i) => i.startsWith('infra.local/k8s/'))).toBe(true);
  });

  it('the certificate phase issues from the CAs infra uploads (joins pin that CA by hash)', async () => {
    const pkiDir = join(dir, 'pki');
    // The files the first control plane's steps upload, put where kubeadm reads them.
    for (const step of firstControlPlaneSteps(inputs, cas, { binaries: Object.fromEntries(['kubeadm', 'kubelet', 'kubectl', 'cni-bridge', 'cni-host-local', 'cni-loopback', 'cni-portmap'].map((n) => [n, { path: n, sha256: 'x' }])), pauseImage: { path: 'p', sha256: 'x' }, controlPlaneImages: [] })) {
      for (const a of step.apply) {
        if (a.kind !== 'upload' || a.source.kind !== 'text' || !a.path.startsWith('/etc/kubernetes/pki/')) continue;
        const local = join(pkiDir, a.path.slice('/etc/kubernetes/pki/'.length));
        await mkdir(join(local, '..'), { recursive: true });
        await writeFile(local, a.source.content, { mode: a.mode });
      }
    }
    const r = await kubeadmOn('certs.yaml', initConfig(inputs).replace('certificatesDir: /etc/kubernetes/pki', `certificatesDir: ${pkiDir}`), 'init', 'phase', 'certs', 'all');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(await readFile(join(pkiDir, 'ca.crt'), 'utf8')).toBe(cas.ca.cert);
    const ca = new X509Certificate(cas.ca.cert);
    const apiserver = new X509Certificate(await readFile(join(pkiDir, 'apiserver.crt')));
    expect(apiserver.verify(ca.publicKey)).toBe(true);
    expect(apiserver.subjectAltName).toContain('IP Address:10.213.0.11');
    expect(new X509Certificate(await readFile(join(pkiDir, 'etcd', 'server.crt'))).verify(new X509Certificate(cas.etcdCa.cert).publicKey)).toBe(true);
    expect(caCertHash(await readFile(join(pkiDir, 'ca.crt'), 'utf8'))).toBe(caCertHash(cas.ca.cert));
  });
});
