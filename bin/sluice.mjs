#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so `npx sluice` works from a fresh clone with no build step.
import { register } from 'tsx/esm/api';

register();
await import('./sluice.ts');
