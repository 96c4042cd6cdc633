#!/usr/bin/env node
// The `infra` command. Runs the TypeScript sources directly: Node >= 22.18 strips types.
import { main } from '../main.ts';

process.exitCode = await main(process.argv.slice(2));
