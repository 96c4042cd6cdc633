import { createHash, createHmac, type KeyObject } from 'node:crypto';
import { PREFIX } from '../../stacks/gitops.ts';
import type { KubeObject } from '../types.ts';

/** Labels, annotations and ordering rules for the objects we apply. Pure. */

export const FIELD_MANAGER = 'infra';
export const APP_LABEL = `${PREFIX}/app`;
/** `disabled`: leave the object alone entirely. */
export const RECONCILE_ANNOTATION = `${PREFIX}/reconcile`;
/** `disabled`: never delete it, even when it leaves Git. */
export const PRUNE_ANNOTATION = `${PREFIX}/prune`;
/** `create-only`: create it if absent, never change it afterwards. */
export const APPLY_ANNOTATION = `${PREFIX}/apply`;

export type Stage = 0 | 1 | 2;
export const STAGE_NAMES = ['CRDs and Namespaces', 'cluster-scoped objects', 'namespaced objects'] as const;

export function stageOf(obj: KubeObject, namespaced: boolean): Stage {
  if (obj.kind === 'Namespace' || (obj.kind === 'CustomResourceDefinition' && obj.apiVersion.startsWith('apiextensions.k8s.io/'))) return 0;
  return namespaced ? 2 : 1;
}

export function annotation(obj: KubeObject, name: string): string | undefined {
  return obj.metadata.annotations?.[name];
}

export const isSkipped = (obj: KubeObject) => annotation(obj, RECONCILE_ANNOTATION) === 'disabled';
export const isPruneDisabled = (obj: KubeObject) => annotation(obj, PRUNE_ANNOTATION) === 'disabled';
export const isCreateOnly = (obj: KubeObject) => annotation(obj, APPLY_ANNOTATION) === 'create-only';

/** The object as we apply it: our ownership label added, namespace defaulted. */
export function owned(obj: KubeObject, app: string, namespace: string | undefined): KubeObject {
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      ...(namespace !== undefined ? { namespace } : {}),
      labels: { ...obj.metadata.labels, [APP_LABEL]: app },
    },
  };
}

/** A digest of the desired manifest, stable under key order; keyed (HMAC) when a key is given. */
export function digestOf(obj: unknown, key?: Buffer | KeyObject): string {
  const h = key ? createHmac('sha256', key) : createHash('sha256');
  return h.update(canonicalJson(obj)).digest('hex').slice(0, 20);
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
