/** Default versions a stack gets when it names none. */
export const KUBERNETES_DEFAULT_VERSION = '1.34.4';
export const K3S_DEFAULT_VERSION = 'v1.34.4+k3s1';
/**
 * What a `kubernetes` cluster infra builds may name as `version:` (the binaries are built for
 * exactly these): the pinned release and the patch before it, to upgrade from. kubeadm clusters
 * run the pinned one only (their images are built from it).
 */
export const KUBERNETES_SUPPORTED_VERSIONS: readonly string[] = ['1.34.3', KUBERNETES_DEFAULT_VERSION];
