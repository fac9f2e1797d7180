#!/usr/bin/env node
// The registry mirror this project is developed against lacks some other-platform builds of native
// packages (e.g. @chdb/lib-darwin-arm64). npm then leaves them out of package-lock.json, and `npm ci`
// refuses the lock as out of sync. This adds the missing optional platform entries (with os/cpu, so npm
// skips them on other platforms without fetching). Safe to run repeatedly.
import fs from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const pk = lock.packages;
let added = 0;
for (const [path, info] of Object.entries(pk)) {
  for (const [name, range] of Object.entries(info.optionalDependencies ?? {})) {
    const base = path ? `${path}/node_modules/${name}` : `node_modules/${name}`;
    if (pk[base] || pk[`node_modules/${name}`]) continue;
    const os = /(darwin|linux|win32|freebsd|android|openbsd|sunos|aix)/.exec(name)?.[1];
    const cpu = /(arm64|x64|arm|ia32|s390x|ppc64|riscv64|loong64|mips64el)/.exec(name.replace(/.*\//, '').replace(os ?? '', ''))?.[1];
    if (!os && !cpu) continue; // not a platform build: leave it to npm
    const entry = { version: String(range).replace(/^[\^~]/, ''), optional: true };
    if (os) entry.os = [os];
    if (cpu) entry.cpu = [cpu];
    if (/musl/.test(name)) entry.libc = ['musl'];
    else if (/gnu/.test(name)) entry.libc = ['glibc'];
    pk[`node_modules/${name}`] = entry;
    added++;
  }
}
if (added) fs.writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`fix-lockfile: added ${added} platform entries`);
