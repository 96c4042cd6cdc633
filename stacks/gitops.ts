/** The `gitops` part of a stack. Plain data. */

export type { ClusterSpec } from './model.ts';

export const API_VERSION = 'infra.dev/v1alpha1';
/** The one prefix for every label and annotation infra writes. */
export const PREFIX = 'infra.dev';

export type GitRef = { readonly branch: string } | { readonly tag: string } | { readonly commit: string };

export interface GitSourceSpec {
  readonly name: string;
  /** A URL git understands, or a local path (relative to the stack file). */
  readonly url: string;
  readonly ref: GitRef;
  /** The secret that webhooks for this source are signed with (`infra serve`); absent: no webhook. */
  readonly webhook?: WebhookSecretRef;
  /** `infra serve`: how often to poll the source (default 1m, jittered). */
  readonly intervalMs?: number;
  /** `infra serve`: how often to re-check the source's apps for drift (default 5m). */
  readonly driftIntervalMs?: number;
}

/** Where a webhook secret is read from: a file (relative to the stack file) or an environment variable. Never the secret itself. */
export type WebhookSecretRef = { readonly secretFile: string } | { readonly secretEnv: string };

export type RendererKind = 'auto' | 'yaml' | 'kustomize' | 'helm';
export type DriftMode = 'correct' | 'detect';
export type ConflictPolicy = 'force' | 'report';

export interface HelmOptions {
  readonly releaseName?: string;
  readonly values: Readonly<Record<string, unknown>>;
  /** Values files, relative to the chart folder, applied in order before `values`. */
  readonly valuesFiles: readonly string[];
  /** Pins `--kube-version` (default: each target cluster's version, from discovery). */
  readonly kubeVersion?: string;
  /** Pins `--api-versions` (default: each target cluster's API groups and kinds, from discovery). */
  readonly apiVersions?: readonly string[];
}

export interface IgnoreRule {
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
  /** RFC 6901 JSON pointers of fields whose drift is ignored, e.g. `/spec/replicas`. */
  readonly pointers: readonly string[];
}

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  /** For In/NotIn (non-empty); empty for Exists/DoesNotExist. */
  readonly values: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly SelectorRequirement[];
}

export type ReplicaMode = 'Duplicated' | 'Divided';
export type PurgeMode = 'Graciously' | 'Immediately' | 'Never';
export type DataPolicy = 'abandon' | 'replicated';

/** Opt-in: move the app off an unhealthy cluster, and back once home is healthy again. */
export interface FailoverSpec {
  readonly tolerationSeconds: number;
  readonly purgeMode: PurgeMode;
  readonly failback: { readonly enabled: boolean; readonly stabilizationSeconds: number };
  readonly maxMovesPerHour: number;
  /** What happens to the app's PersistentVolumeClaims' data on a move; absent: an app with PVCs is never moved. */
  readonly data?: DataPolicy;
}

/** Which of the candidate clusters (targets) an app runs on. Absent on an app: every candidate, no failover. */
export interface PlacementSpec {
  /** Absent: all candidates. */
  readonly maxClusters?: number;
  /** At most one chosen cluster per value of this cluster label. */
  readonly spreadBy?: string;
  /** Earlier wins. Exclusive with `weights`. */
  readonly preference?: readonly string[];
  readonly weights?: Readonly<Record<string, number>>;
  readonly replicas: ReplicaMode;
  readonly failover?: FailoverSpec;
}

export interface AppTargets {
  readonly clusters: readonly string[];
  readonly selector?: LabelSelector;
}

export interface AppSpec {
  readonly name: string;
  readonly source: string;
  readonly path: string;
  readonly render: RendererKind;
  readonly helm: HelmOptions;
  /** Namespace for namespaced objects that name none. */
  readonly namespace?: string;
  /** Create namespaces the objects use but the manifests do not contain (create-only, never pruned). */
  readonly createNamespace: boolean;
  readonly targets: AppTargets;
  readonly placement?: PlacementSpec;
  readonly prune: boolean;
  /** Allow a render with no objects to prune everything (off: an empty render is refused). */
  readonly allowEmpty: boolean;
  readonly wait: boolean;
  readonly timeoutMs: number;
  readonly dependsOn: readonly string[];
  readonly variables: Readonly<Record<string, string>>;
  /** Replace `${var.*}` and `${cluster.*}` in manifests (default true). */
  readonly substitute: boolean;
  readonly clusterVariables: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly drift: DriftMode;
  readonly conflicts: ConflictPolicy;
  readonly ignore: readonly IgnoreRule[];
  /** An app-of-apps: the folder holds App definitions instead of manifests. */
  readonly appsFolder: boolean;
}

export interface GitopsSpec {
  readonly sources: readonly GitSourceSpec[];
  readonly apps: readonly AppSpec[];
  /** Apps removed from the stack whose objects are left in place: only their records are dropped. */
  readonly orphan: readonly string[];
}
