// Real headless Chromium for browser tests (Debian's /usr/bin/chromium driven by playwright-core).
// Tests skip, saying so, where it is not installed.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const hasChromium = fs.existsSync(CHROMIUM_PATH);

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

if (!hasChromium) console.warn(`SKIPPED browser tests: ${CHROMIUM_PATH} not found (apt-get install -y chromium)`);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** Path under test-artifacts/ (gitignored), creating the folder. */
export function artifactPath(name: string): string {
  const dir = path.resolve('test-artifacts');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
