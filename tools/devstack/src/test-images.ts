import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** The images a seed may carry (the API's SeedOptions['images'], restated so the devstack needs no API types here). */
export interface SeedImageFile {
  name: string;
  osFamily: string;
  version: string;
  url: string;
  sha256: string;
  format: 'qcow2' | 'raw';
}

export function sha256File(path: string): Promise<string> {
  return new Promise((ok, fail) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (b) => h.update(b))
      .on('end', () => ok(h.digest('hex')))
      .on('error', fail);
  });
}

/**
 * The catalogue of a stack on libvirt's test driver, which boots nothing: empty qcow2 disks made here with
 * qemu-img, each seeded with its real sha256, so that the node fetches and verifies them like any image
 * (the catalogue offers only verified images) without a manual step. Used by the demo and by every test stack
 * that brings no images of its own.
 */
export async function testDriverImages(dir: string): Promise<SeedImageFile[]> {
  mkdirSync(dir, { recursive: true });
  const images = [
    { name: 'Debian 12', osFamily: 'debian', version: '12', file: 'debian-12.qcow2' },
    { name: 'Alpine 3.20', osFamily: 'alpine', version: '3.20', file: 'alpine-3.20.qcow2' },
  ];
  const out: SeedImageFile[] = [];
  for (const img of images) {
    const path = join(dir, img.file);
    if (!existsSync(path)) await execFileP('qemu-img', ['create', '-q', '-f', 'qcow2', path, '10G'], { timeout: 30_000 });
    out.push({ name: img.name, osFamily: img.osFamily, version: img.version, url: `file://${path}`, sha256: await sha256File(path), format: 'qcow2' });
  }
  return out;
}
