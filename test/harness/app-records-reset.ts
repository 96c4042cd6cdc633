import { afterAll } from 'vitest';
import { KubeApiError } from '../../clusters/errors.ts';
import { RECORD_LABEL, SYSTEM_NAMESPACE } from '../../reconciler/status/app-record.ts';
import { testClusters } from './environment.ts';
import { adminRequest } from './kube-admin.ts';

/**
 * After each test file of the projects that share the test clusters (integration, browser): the app
 * records of that file's stacks are deleted, so the next file starts as on clusters no stack has used.
 * Files use their own stack names (stack-fixture.ts) and often the same app names ('web'); an app name
 * on a cluster belongs to the stack that synced it first (OwnedByOtherStack), so a record left behind
 * would refuse the next file's app. The objects stay: a later app of the same name adopts them by label,
 * as it would after an `infra` upgrade that rebuilt its records. Files run one at a time on these clusters.
 */
afterAll(async () => {
  for (const cluster of testClusters()) {
    try {
      await adminRequest(cluster, 'DELETE', `/api/v1/namespaces/${SYSTEM_NAMESPACE}/configmaps`, undefined, undefined, { labelSelector: `${RECORD_LABEL}=app` });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) continue;
      throw new Error(`could not reset the app records of test cluster ${cluster.name} after this file: ${(err as Error).message}`);
    }
  }
}, 60_000);
