import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LabError } from './errors.js';

/** Folder of the keepalived VRRP captures: $VIGIL_VECTORS_DIR or `../shared/vectors/vrrp` beside the repo. */
export function vrrpVectorsDir(): string {
  const dir = process.env['VIGIL_VECTORS_DIR'] ?? fileURLToPath(new URL('../../../shared/vectors/vrrp/', import.meta.url));
  if (!existsSync(`${dir}/vectors.json`)) {
    throw new LabError('ESETUP', `vectors: ${dir}/vectors.json not found (set VIGIL_VECTORS_DIR to shared/vectors/vrrp)`);
  }
  return dir;
}
