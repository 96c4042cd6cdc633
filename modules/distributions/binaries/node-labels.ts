import { managedNodeLabelKeys, nodeLabelsOf, type NodeAddons } from './node-addons.ts';
import type { Step } from './steps.ts';

/**
 * The runtime labels of a Node, through the apiserver. The kubelet applies `--node-labels`
 * (host-files.ts) only when it registers its Node: a node registered before (a cluster that adds
 * gVisor later, an upgrade from a version without the flag) would never carry the label its
 * RuntimeClass selects, and a node whose runtime left the stack (its containerd handler is gone)
 * would keep attracting Pods it cannot run. Check before change, like every step: one read of
 * the Node when its labels are as wanted. Pure: the executor runs it where `kubectl` is admin.
 */
export function nodeLabelStep(kubectl: string, node: string, addons: NodeAddons | undefined): Step {
  const wanted = nodeLabelsOf(addons);
  const keys = managedNodeLabelKeys();
  // Each managed label's value (empty when absent) followed by `;`, in one read.
  const template = keys.map((k) => `{.metadata.labels.${k.replaceAll('.', '\\.')}}{";"}`).join('');
  const expected = keys.map((k) => `${wanted[k] ?? ''};`).join('');
  // A merge patch: null removes a label, and removing one that is not there is no error.
  const patch = JSON.stringify({ metadata: { labels: Object.fromEntries(keys.map((k) => [k, wanted[k] ?? null])) } });
  const shown = keys.map((k) => (k in wanted ? `${k}=${wanted[k]}` : `${k}-`)).join(' ');
  return {
    id: `node-labels:${node}`,
    title: `label node ${node} (${shown})`,
    check: `[ "$(${kubectl} get node ${node} -o jsonpath='${template}' 2>/dev/null)" = '${expected}' ]`,
    apply: [{ kind: 'run', script: `${kubectl} patch node ${node} --type=merge -p '${patch}' >/dev/null` }],
  };
}
