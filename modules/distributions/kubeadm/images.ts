import { InfraError } from '../../../stacks/errors.ts';
import { IMAGE_REPOSITORY } from './kubeadm-config.ts';

/**
 * The images kubeadm runs, made here from the pinned binaries (hosts have no registry): each
 * is one static binary under /usr/local/bin, run by name (the static Pods kubeadm writes give
 * `command: [kube-apiserver, ...]`). Pure: the names come from `kubeadm config images list`
 * with infra's config, so the tags are exactly what kubeadm will ask containerd for.
 */

export type ImageBinary = 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'etcd';

export type ImagePlan =
  | { readonly kind: 'binary'; readonly reference: string; readonly id: string; readonly binary: ImageBinary }
  /** kubeadm's sandbox image: infra's pause image, tagged under kubeadm's name. */
  | { readonly kind: 'pause'; readonly reference: string; readonly id: 'pause' };

const BINARY_IMAGES: readonly ImageBinary[] = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'];
export const IMAGE_PATH_ENV = 'PATH=/usr/local/bin:/usr/bin:/bin';

/** kubeadm asks for an image infra cannot make from its binaries (a kubeadm upgrade, or an addon not disabled). */
export class KubeadmImageError extends InfraError {
  readonly reason = 'KubeadmImage';
  override readonly exitCode = 2;
}

export function planImages(listed: readonly string[]): ImagePlan[] {
  return listed.map((reference): ImagePlan => {
    const m = /^(.+)\/([a-z0-9-]+):([\w.-]+)$/.exec(reference);
    if (!m || m[1] !== IMAGE_REPOSITORY) throw new KubeadmImageError(`kubeadm wants image ${reference}, outside ${IMAGE_REPOSITORY}`, { hint: 'the hosts have no registry: every image must come from infra' });
    const name = m[2] as string;
    if (name === 'pause') return { kind: 'pause', reference, id: 'pause' };
    const binary = BINARY_IMAGES.find((b) => b === name);
    if (!binary) throw new KubeadmImageError(`kubeadm wants image ${reference}; infra builds only ${[...BINARY_IMAGES, 'pause'].join(', ')}`, { hint: 'disable that addon in the kubeadm config (proxy/dns disabled: true)' });
    return { kind: 'binary', reference, id: `kubeadm-${name}`, binary };
  });
}
