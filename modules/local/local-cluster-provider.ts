import { describeLocalCluster, downLocalCluster, upLocalCluster } from '../../clusters/local/local-cluster.ts';
import { LocalClusterNotFoundError } from '../../clusters/errors.ts';

/**
 * What the LocalCluster resource does, run inside Pulumi's dynamic-provider process (loaded by
 * path at run time, so the serialized provider captures nothing but a string).
 */

export interface LocalClusterInputs {
  readonly name: string;
  readonly nodes: number;
}

export interface LocalClusterOutputs extends LocalClusterInputs {
  readonly server: string;
  readonly kubeconfigPath: string;
  /** All processes of the cluster run: false after a crash, which `up` then repairs. */
  readonly running: boolean;
}

async function bring(inputs: LocalClusterInputs): Promise<LocalClusterOutputs> {
  const c = await upLocalCluster(inputs.name, { nodes: inputs.nodes });
  return { name: c.name, nodes: c.nodes, server: c.server, kubeconfigPath: c.kubeconfig, running: true };
}

export async function create(inputs: LocalClusterInputs): Promise<{ id: string; outs: LocalClusterOutputs }> {
  return { id: inputs.name, outs: await bring(inputs) };
}

export async function read(id: string, props: LocalClusterOutputs): Promise<{ id: string; props: LocalClusterOutputs } | { id: undefined; props: undefined }> {
  try {
    const c = await describeLocalCluster(id);
    const running = Object.values(c.components).every((s) => s === 'running');
    return { id, props: { ...props, name: c.name, nodes: c.nodes, server: c.server, kubeconfigPath: c.kubeconfig, running } };
  } catch (err) {
    // Gone entirely (deleted outside infra): tell the engine, so `up` creates it again.
    if (err instanceof LocalClusterNotFoundError) return { id: undefined, props: undefined };
    throw err;
  }
}

export function diff(olds: LocalClusterOutputs, news: LocalClusterInputs): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const replaces = olds.name !== news.name ? ['name'] : [];
  const changes = replaces.length > 0 || olds.nodes !== news.nodes || olds.running === false;
  return { changes, replaces, deleteBeforeReplace: true };
}

export async function update(_id: string, _olds: LocalClusterOutputs, news: LocalClusterInputs): Promise<{ outs: LocalClusterOutputs }> {
  return { outs: await bring(news) };
}

export async function remove(id: string): Promise<void> {
  try {
    await downLocalCluster(id, { purge: true });
  } catch (err) {
    if (!(err instanceof LocalClusterNotFoundError)) throw err;
  }
}
