import { access, chmod, mkdir } from 'node:fs/promises';

/** True if `path` exists (any type). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** A folder only its owner can enter: made so, or tightened if something made it wider. */
export async function privateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}
