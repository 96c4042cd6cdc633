import { join } from 'node:path';
import { localClustersDir } from '../host/paths.ts';

/** Where each file of one local cluster lives. Pure path arithmetic. */
export interface ClusterLayout {
  readonly name: string;
  readonly dir: string;
  readonly stateFile: string;
  readonly pkiDir: string;
  readonly etcdDataDir: string;
  readonly kubeconfig: string;
  readonly componentKubeconfigDir: string;
  readonly runDir: string;
  readonly logDir: string;
  readonly lockDir: string;
}

export const CLUSTER_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

export function clusterLayout(name: string, env: NodeJS.ProcessEnv = process.env): ClusterLayout {
  const dir = join(localClustersDir(env), name);
  return {
    name,
    dir,
    stateFile: join(dir, 'cluster.json'),
    pkiDir: join(dir, 'pki'),
    etcdDataDir: join(dir, 'etcd'),
    kubeconfig: join(dir, 'kubeconfig'),
    componentKubeconfigDir: join(dir, 'kubeconfigs'),
    runDir: join(dir, 'run'),
    logDir: join(dir, 'logs'),
    lockDir: join(dir, '.lock'),
  };
}
