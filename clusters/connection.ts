import { ApiException, KubeConfig } from '@kubernetes/client-node';

/** A client configuration for the cluster a kubeconfig file points at (TLS verified). */
export function kubeConfigFromFile(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** HTTP status of a Kubernetes API error, or undefined for other errors (network, TLS). */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}
