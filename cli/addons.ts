import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { infraHome } from '../clusters/host/paths.ts';
import { ADDON_APP_PREFIX, renderStackAddons, stackAddonApps } from '../modules/addons/apps.ts';
import { addonChangesText, appliedAfter, diffAddonSets, entriesOf, type AddonSetEntry } from '../modules/addons/preview.ts';
import { assertAddonsValid } from '../modules/addons/validate.ts';
import type { BuiltinApp } from '../reconciler/builtin-apps.ts';
import type { AppStatus } from '../reconciler/types.ts';
import type { StackSpec } from '../stacks/load.ts';

/**
 * The add-ons in the commands: validated against the stack file (path and line), handed to the
 * reconciler as apps infra owns, the set last applied kept in INFRA_HOME for `infra preview`.
 */

/** `text`: the stack file's text when it is not (or no longer) on disk as `stack.file` (a stack from Git). */
export async function stackAddons(stack: StackSpec, text?: string): Promise<BuiltinApp[]> {
  assertAddonsValid(stack, text ?? (await readFile(stack.file, 'utf8')));
  return stackAddonApps(stack);
}

function stateFile(stack: StackSpec, env: NodeJS.ProcessEnv = process.env): string {
  return join(infraHome(env), 'addons', `${stack.name}.json`);
}

/** Writes of the record one after the other: `infra serve` ends rounds concurrently. */
let writing: Promise<void> = Promise.resolve();

/**
 * After a round that reconciled add-ons: what `infra preview` compares the next stack with.
 * `whole`: the round held every app of the stack (removals included), not one app's (`--app`, a
 * job of `infra serve`), which changes only the add-ons it held.
 */
export function saveAppliedAddons(stack: StackSpec, statuses: readonly AppStatus[], whole = true): Promise<void> {
  const round = statuses.filter((s) => s.app.startsWith(ADDON_APP_PREFIX)).map((s) => ({ addon: s.app.slice(ADDON_APP_PREFIX.length), cluster: s.cluster, synced: s.sync === 'Synced' }));
  const write = async () => {
    const entries = appliedAfter(await appliedAddons(stack), entriesOf(renderStackAddons(stack)), round, whole);
    const file = stateFile(stack);
    await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
    await writeFile(`${file}.tmp`, `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  };
  const next = writing.then(write);
  writing = next.catch(() => undefined);
  return next;
}

async function appliedAddons(stack: StackSpec): Promise<AddonSetEntry[]> {
  try {
    return JSON.parse(await readFile(stateFile(stack), 'utf8')) as AddonSetEntry[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** `infra preview`'s add-on lines: the stack's add-ons against those last applied. Validates first. */
export async function addonPreview(stack: StackSpec): Promise<{ text: string; changes: ReturnType<typeof diffAddonSets> }> {
  assertAddonsValid(stack, await readFile(stack.file, 'utf8'));
  const wanted = entriesOf(renderStackAddons(stack));
  const changes = diffAddonSets(await appliedAddons(stack), wanted);
  // A stack that installs no add-on and removes none: nothing to say.
  return { text: wanted.length === 0 && changes.length === 0 ? '' : `\n${addonChangesText(changes)}`, changes };
}

/** What health cannot observe, per add-on and cluster of the stack (for `infra status`). */
export function addonNotes(stack: StackSpec): { addon: string; cluster: string; notes: readonly string[] }[] {
  return renderStackAddons(stack).filter((r) => r.unobservable.length > 0).map((r) => ({ addon: `${ADDON_APP_PREFIX}${r.addon}`, cluster: r.cluster, notes: r.unobservable }));
}

export function addonNotesText(notes: ReturnType<typeof addonNotes>): string {
  if (notes.length === 0) return '';
  return ['', 'add-ons: what health cannot observe', ...notes.flatMap((n) => n.notes.map((x) => `  ${n.addon} on ${n.cluster}: ${x}`))].join('\n');
}
