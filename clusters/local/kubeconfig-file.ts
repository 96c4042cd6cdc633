import { stringify } from 'yaml';

/**
 * Renders a kubeconfig for one cluster and one client identity. Pure text; callers write it
 * 0600 because it holds (or points at) a private key.
 */
export interface KubeconfigInput {
  readonly contextName: string;
  readonly server: string;
  readonly user: string;
  readonly ca: Credential;
  readonly clientCert: Credential;
  readonly clientKey: Credential;
}

/** A PEM either embedded in the file (`data`) or referenced by path (`file`). */
export type Credential = { readonly data: string } | { readonly file: string };

export function renderKubeconfig(input: KubeconfigInput): string {
  const pick = (c: Credential, dataKey: string, fileKey: string) =>
    'data' in c ? { [dataKey]: Buffer.from(c.data).toString('base64') } : { [fileKey]: c.file };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: input.contextName,
        cluster: { server: input.server, ...pick(input.ca, 'certificate-authority-data', 'certificate-authority') },
      },
    ],
    users: [
      {
        name: input.user,
        user: {
          ...pick(input.clientCert, 'client-certificate-data', 'client-certificate'),
          ...pick(input.clientKey, 'client-key-data', 'client-key'),
        },
      },
    ],
    contexts: [{ name: input.contextName, context: { cluster: input.contextName, user: input.user } }],
    'current-context': input.contextName,
  });
}

export function contextNameFor(cluster: string): string {
  return `infra-${cluster}`;
}
