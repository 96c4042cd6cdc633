import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * During `infra preview` the engine sets INFRA_PREVIEW_DIR: a dynamic provider that knows what a change
 * does (the steps on a host, a VM restart) notes it there, one JSON file per resource, and the printed
 * plan shows it under the resource's line (engine.ts `readPreviewNotes`). Outside a preview: nothing.
 * `name` is the resource's name as the plan prints it.
 */
export async function notePreview(name: string, steps: () => string[]): Promise<void> {
  const dir = process.env['INFRA_PREVIEW_DIR'];
  if (!dir) return;
  let lines: string[];
  try {
    lines = steps();
  } catch {
    // What the old state did cannot be worked out again (state from an older infra): say only that it differs.
    lines = ['the plan changed'];
  }
  await writeFile(join(dir, `${encodeURIComponent(name)}.json`), JSON.stringify({ name, steps: lines }));
}
