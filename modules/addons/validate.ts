import type { StackSpec } from '../../stacks/load.ts';
import { SourceDocument, ValidationError, formatPath, type ValidationIssue } from '../../stacks/issues.ts';
import type { AddonFacts, AddonIssue } from './addon.ts';
import { overlaps, parseCidr } from './cidr.ts';
import { clusterFacts } from './facts.ts';
import { ADDONS } from './registry.ts';

/**
 * Checks every cluster's add-ons against the stack before anything renders: the problems of
 * all clusters at once, each with its stack path and line, as one ValidationError (exit 2).
 */

/** Problems of one cluster: its networks, then each add-on it wants. */
export function addonIssues(f: AddonFacts): AddonIssue[] {
  const out: AddonIssue[] = [];
  if (!parseCidr(f.podCidr)) out.push({ path: [...f.path, 'podCidr'], message: `"${f.podCidr}" is not an IPv4 CIDR` });
  else if (!parseCidr(f.serviceCidr)) out.push({ path: [...f.path, 'serviceCidr'], message: `"${f.serviceCidr}" is not an IPv4 CIDR` });
  else if (overlaps(f.podCidr, f.serviceCidr)) {
    out.push({ path: [...f.path, 'podCidr'], message: `the pod CIDR ${f.podCidr} overlaps the service CIDR ${f.serviceCidr}: ${f.cni} would route Service IPs as Pod IPs`, hint: 'pick disjoint ranges, e.g. podCidr 10.244.0.0/16 and serviceCidr 10.96.0.0/16' });
  }
  for (const a of ADDONS) if (a.wanted(f)) out.push(...a.validate(f));
  return out;
}

/** Every add-on problem of the stack, with lines from the stack file's text. */
export function stackAddonIssues(stack: StackSpec, text: string): ValidationIssue[] {
  const doc = SourceDocument.parse(stack.file, text);
  return stack.clusters.flatMap((c) =>
    addonIssues(clusterFacts(stack, c)).map((i) => {
      const line = doc.lineOf(i.path);
      return { path: formatPath(i.path), message: i.hint ? `${i.message} — ${i.hint}` : i.message, file: stack.file, ...(line === undefined ? {} : { line }) };
    }),
  );
}

export function assertAddonsValid(stack: StackSpec, text: string): void {
  const issues = stackAddonIssues(stack, text);
  if (issues.length > 0) throw new ValidationError(stack.file, issues);
}
