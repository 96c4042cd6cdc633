import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's chromium, driven by playwright-core (Playwright's own browser download cannot work
 * offline). INFRA_CHROMIUM points at another binary. `.ci/run` installs the package when missing.
 */
export const CHROMIUM = process.env['INFRA_CHROMIUM'] ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set INFRA_CHROMIUM to its path`);
  // As root (CI containers) Chromium refuses to start with its sandbox on.
  const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}
