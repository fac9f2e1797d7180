#!/usr/bin/env node
// Launcher: cvm is written in TypeScript and runs through tsx's loader, so there is no build step.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('./cli.ts');
await main(process.argv.slice(2));
