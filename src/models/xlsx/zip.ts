import { crc32, deflateRawSync } from 'node:zlib';

/** Below this size a part is stored: each native deflate call costs a zlib stream set-up that outweighs the bytes saved. */
const DEFLATE_FROM_BYTES = 16 * 1024;
/** 2000-01-01 as a DOS date: fixed, so equal input gives equal bytes. */
const DOS_DATE = ((2000 - 1980) << 9) | (1 << 5) | 1;

/**
 * A minimal zip writer over Node's native zlib. fflate's pure-JS deflate was most of the render
 * time (docs/models.md has the numbers); native deflate at level 1 is several times faster on big
 * sheets. Timestamps are fixed, so equal input gives equal bytes.
 */
export function zipEntries(
  entries: readonly { name: string; data: Uint8Array; store?: boolean }[],
): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(e.data);
    const store = e.store || e.data.length < DEFLATE_FROM_BYTES;
    const body = store ? e.data : deflateRawSync(e.data, { level: 1 });
    const method = store ? 0 : 8;
    const fields = { method, crc, compressed: body.length, size: e.data.length, nameLength: name.length };
    // The local header and the central directory entry share their fields, at different offsets.
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    writeEntryFields(local, 6, fields);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    writeEntryFields(dir, 8, fields);
    dir.writeUInt32LE(offset, 42);
    parts.push(local, name, body);
    central.push(dir, name);
    offset += 30 + name.length + body.length;
  }
  const cdSize = central.reduce((s, b) => s + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...parts, ...central, end]));
}

/** Flags (UTF-8 names), method, time and date, CRC-32, sizes and name length, from `at` on. */
function writeEntryFields(
  buf: Buffer,
  at: number,
  f: { method: number; crc: number; compressed: number; size: number; nameLength: number },
): void {
  buf.writeUInt16LE(0x0800, at);
  buf.writeUInt16LE(f.method, at + 2);
  buf.writeUInt16LE(0, at + 4);
  buf.writeUInt16LE(DOS_DATE, at + 6);
  buf.writeUInt32LE(f.crc, at + 8);
  buf.writeUInt32LE(f.compressed, at + 12);
  buf.writeUInt32LE(f.size, at + 16);
  buf.writeUInt16LE(f.nameLength, at + 20);
}
