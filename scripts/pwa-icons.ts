/**
 * Draws the portal's app icons (web/public/icons/*.png): the accent blue with three white bars, a silo's
 * stacked bins. Plain PNG (RFC 2083: signature, IHDR, one zlib IDAT of RGBA rows, IEND) so no image
 * library is needed. Run once after changing the design: `node --import tsx scripts/pwa-icons.ts`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

const ACCENT = [0x0b, 0x5c, 0xad, 0xff];
const WHITE = [0xff, 0xff, 0xff, 0xff];
const CLEAR = [0, 0, 0, 0];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** `maskable`: full bleed, artwork inside the central 80 % safe zone (W3C manifest, "maskable" purpose). */
function icon(size: number, maskable: boolean): Buffer {
  const radius = maskable ? 0 : size * 0.18;
  const inset = maskable ? size * 0.3 : size * 0.22;
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4);
    for (let x = 0; x < size; x++) {
      const dx = Math.max(radius - x, x - (size - 1 - radius), 0);
      const dy = Math.max(radius - y, y - (size - 1 - radius), 0);
      const inside = dx * dx + dy * dy <= radius * radius;
      const band = (y - inset) / (size - 2 * inset);
      const bar =
        x >= inset &&
        x < size - inset &&
        band >= 0 &&
        band < 1 &&
        band * 5 - Math.floor(band * 5) < 0.6 &&
        Math.floor(band * 5) % 2 === 0;
      row.set(!inside ? CLEAR : bar ? WHITE : ACCENT, 1 + x * 4);
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows), { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const out = new URL('../web/public/icons/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'icon-192.png'), icon(192, false));
writeFileSync(join(out, 'icon-512.png'), icon(512, false));
writeFileSync(join(out, 'maskable-512.png'), icon(512, true));
writeFileSync(join(out, 'apple-touch-icon-180.png'), icon(180, true));
