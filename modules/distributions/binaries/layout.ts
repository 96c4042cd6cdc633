/** Where things live on a host of a `binaries` cluster. */
export const BIN_DIR = '/usr/local/bin';
export const PKI_DIR = '/etc/kubernetes/pki';
export const CONFIG_DIR = '/etc/kubernetes';
export const UNIT_DIR = '/etc/systemd/system';
export const ETCD_DATA_DIR = '/var/lib/etcd';
/** Written only while a member joins a running etcd cluster (`existing` and the current members). */
export const ETCD_JOIN_ENV = '/etc/kubernetes/etcd-join.env';
export const KUBELET_DIR = '/var/lib/kubelet';
export const IMAGE_DIR = '/var/lib/infra/images';
export const CNI_CONF_DIR = '/etc/cni/net.d';
/** Where infra puts the CNI plugins it uploads (containerd's default). */
export const CNI_BIN_DIR = '/opt/cni/bin';
/** The sandbox image, built locally and imported (hosts have no registry). */
export const PAUSE_IMAGE = 'infra.local/pause:1';

export const pki = (file: string): string => `${PKI_DIR}/${file}`;
export const kubeconfigPath = (who: string): string => `${CONFIG_DIR}/${who}.kubeconfig`;
