import type { KubeObject } from '../../reconciler/types.ts';

/** Small builders for the objects every add-on needs; labels say the add-on owns them. */

export const ADDON_LABEL = 'infra.dev/addon';

export function labels(addon: string, component?: string): Record<string, string> {
  return { 'app.kubernetes.io/name': component ?? addon, 'app.kubernetes.io/part-of': addon, [ADDON_LABEL]: addon };
}

export function namespace(addon: string, name: string, extra: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { ...labels(addon), ...extra } } };
}

export function serviceAccount(addon: string, ns: string, name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns, labels: labels(addon) } };
}

export interface Rule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

export function clusterRole(addon: string, name: string, rules: readonly Rule[]): KubeObject {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels: labels(addon) }, rules: rules.map((r) => ({ ...r })) };
}

export function clusterRoleBinding(addon: string, name: string, role: string, ns: string, account: string): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: labels(addon) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name: account, namespace: ns }],
  };
}

export function role(addon: string, ns: string, name: string, rules: readonly Rule[]): KubeObject {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: ns, labels: labels(addon) }, rules: rules.map((r) => ({ ...r })) };
}

export function roleBinding(addon: string, ns: string, name: string, roleName: string, account: string): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace: ns, labels: labels(addon) },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
    subjects: [{ kind: 'ServiceAccount', name: account, namespace: ns }],
  };
}

export function configMap(addon: string, ns: string, name: string, data: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels: labels(addon) }, data };
}

/** Tolerates every taint: node add-ons must run on NotReady and control-plane nodes. */
export const TOLERATE_ALL = [{ operator: 'Exists' }];

/** JSON with sorted keys and two-space indent (files inside ConfigMaps, stable across runs). */
export function stableJson(v: unknown): string {
  const sort = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sort);
    if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, y]) => [k, sort(y)]));
    return x;
  };
  return `${JSON.stringify(sort(v), null, 2)}\n`;
}

/** A Pod's way to the apiserver where no kube-proxy serves the `kubernetes` Service (in-cluster config reads these). */
export function apiserverEnv(at: { readonly apiserverHost: string; readonly apiserverPort: number }): { name: string; value: string }[] {
  return [
    { name: 'KUBERNETES_SERVICE_HOST', value: at.apiserverHost },
    { name: 'KUBERNETES_SERVICE_PORT', value: String(at.apiserverPort) },
  ];
}
