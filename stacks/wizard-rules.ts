import type { Csi, Runtime } from './model.ts';

/**
 * The rules behind the `infra init` questions on workloads, network policy and storage
 * (docs/DECISIONS.md): what the answers decide for a site's clusters, and why. Pure. The
 * stack file records the result (`runtimes`, `security`, `csi`); the rules that pick the
 * distribution, datastore and CNI from it live in defaults.ts.
 */

export interface Ruled<T> {
  readonly value: T;
  readonly rule: string;
}

export interface WorkloadFacts {
  /** Workloads the operator does not trust (third-party code, tenants). */
  readonly untrusted: boolean;
  /** A VM boundary around each Pod is asked for (stronger than gVisor, needs virtualisation on the nodes). */
  readonly vmIsolation: boolean;
}

export function chooseRuntimes(f: WorkloadFacts): Ruled<readonly Runtime[]> {
  if (f.untrusted && f.vmIsolation) return { value: ['kata'], rule: 'untrusted workloads that need VM-grade isolation → Kata Containers (a lightweight VM per Pod)' };
  if (f.vmIsolation) return { value: ['kata'], rule: 'VM-grade isolation → Kata Containers (a lightweight VM per Pod)' };
  if (f.untrusted) return { value: ['gvisor'], rule: 'untrusted workloads → gVisor (runsc: the kernel in user space)' };
  return { value: [], rule: 'no untrusted workloads → containerd with runc only' };
}

export function chooseSecurity(l7Policies: boolean): Ruled<'strict' | 'standard'> {
  return l7Policies
    ? { value: 'strict', rule: 'L7 network policies (HTTP paths, methods) → strict security, which Cilium enforces' }
    : { value: 'standard', rule: 'L3/L4 network policies are enough → standard security' };
}

export interface StorageFacts {
  readonly shared: boolean;
  /** How many of the cluster's hosts have spare disks. */
  readonly hostsWithDisks: number;
}

/** Only when shared storage was asked about; otherwise the stack's own CSI rule (defaults.ts) applies. */
export function chooseSharedStorage(f: StorageFacts): Ruled<Csi> {
  if (!f.shared) return { value: 'local-path', rule: 'no shared storage wanted → local persistent volumes (node-bound)' };
  if (f.hostsWithDisks >= 3) return { value: 'rook-ceph', rule: `shared storage with ${f.hostsWithDisks} hosts with spare disks → Rook-Ceph (replicated block/file storage)` };
  const n = f.hostsWithDisks;
  return {
    value: 'local-path',
    rule: `shared storage wanted, but ${n === 0 ? 'no host has' : n === 1 ? 'only 1 host has' : `only ${n} hosts have`} spare disks and Rook-Ceph needs 3 to replicate → local persistent volumes (node-bound)`,
  };
}
