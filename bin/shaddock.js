#!/usr/bin/env node
// The CLI and the apps it starts are TypeScript: load tsx first, then the real entry.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
