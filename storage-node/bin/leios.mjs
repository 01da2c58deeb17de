#!/usr/bin/env node
// The `leios` command: runs the TypeScript CLI (storage-node/src/cli) through tsx's loader,
// resolved from this package, so it works from any working directory. Needs Node >= 22.12
// (the repository pins it in node_modules/.bin/node).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/index.ts');
process.exit(await main(process.argv.slice(2)));
