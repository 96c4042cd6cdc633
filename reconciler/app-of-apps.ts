import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { readApp } from '../stacks/gitops-parse.ts';
import type { AppSpec } from '../stacks/gitops.ts';
import { SourceDocument, formatIssue } from '../stacks/issues.ts';
import { FieldReader } from '../stacks/reader.ts';
import { RenderError } from './errors.ts';
import { manifestFiles } from './render/yaml-files.ts';
import type { Revision } from './types.ts';

/**
 * An app-of-apps folder holds `kind: App` files (one per file), so a `git push` can add an app.
 * Children default to the parent's source and targets; every problem is reported at once.
 */
export async function expandAppsFolder(parent: AppSpec, revision: Revision): Promise<AppSpec[]> {
  const dir = join(revision.dir, parent.path);
  const apps: AppSpec[] = [];
  const problems: string[] = [];
  for (const file of await manifestFiles(dir)) {
    const name = relative(revision.dir, file);
    const source = SourceDocument.parse(name, await readFile(file, 'utf8'));
    const r = new FieldReader(source);
    if (source.issues.length === 0) {
      if (r.at(['kind']) !== 'App') source.report(['kind'], 'expected App');
      r.knownKeys([], ['apiVersion', 'kind', 'metadata', 'spec']);
    }
    const app = source.issues.length === 0 ? readApp(r, ['spec'], { source: parent.source }) : undefined;
    const metaName = r.string(['metadata', 'name'], { required: true });
    problems.push(...source.issues.map(formatIssue));
    if (app && metaName && source.issues.length === 0) {
      const targets = app.targets.clusters.length > 0 || app.targets.selector ? app.targets : parent.targets;
      apps.push({ ...app, name: metaName, targets });
    }
  }
  if (problems.length > 0) {
    throw new RenderError(`app-of-apps "${parent.name}" has ${problems.length} problem(s): ${problems.join('; ')}`, {
      where: parent.path,
      hint: 'fix the App files and commit again; no app was changed',
    });
  }
  return apps;
}
