/** Default versions a stack gets when it names none. */
export const KUBERNETES_DEFAULT_VERSION = '1.34.4';
export const K3S_DEFAULT_VERSION = 'v1.34.4+k3s1';
