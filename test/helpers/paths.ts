import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The shared folder laid beside the repository (vectors, notes). */
export const sharedDir = path.resolve(repoRoot, '../shared');
