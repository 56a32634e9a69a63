import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium: the browser tests drive it with playwright-core and download none. */
export const CHROMIUM = '/usr/bin/chromium';

/** Launches headless chromium with nothing reaching out (no sync, updates or QUIC); fails saying what to install when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install it with \`bash scripts/install-services.sh\` (Debian's chromium package; no browser is downloaded)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
