/**
 * A folder into one zip file, streamed, with Node's native deflate (zlib runs outside the JS thread and is
 * several times faster than a JS deflate on the hundreds of MB a big window's JSON and CSV can be). Each
 * entry's CRC and sizes follow its data (a data descriptor), so nothing is held in memory. No ZIP64: an
 * entry or archive past 4 GiB is refused.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { once } from 'node:events';
import { constants, crc32, createDeflateRaw } from 'node:zlib';

const LIMIT = 0xffffffff;

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    // The -o folder's own bookkeeping (.parsedmarc-checkpoint.json) is not a result.
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}

/** DOS date and time of `date` (zip headers). */
function dosDateTime(date: Date): { time: number; day: number } {
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | Math.floor(date.getSeconds() / 2),
    day: ((date.getFullYear() - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

export async function zipFolder(dir: string, zipPath: string, now = new Date()): Promise<void> {
  const out = createWriteStream(zipPath);
  let offset = 0;
  const write = async (chunk: Buffer): Promise<void> => {
    offset += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  };
  const { time, day } = dosDateTime(now);
  const central: Buffer[] = [];
  try {
    for (const path of await filesUnder(dir)) {
      const name = Buffer.from(relative(dir, path).split('\\').join('/'), 'utf8');
      const headerOffset = offset;
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4); // version needed
      local.writeUInt16LE(0x0808, 6); // data descriptor follows; UTF-8 names
      local.writeUInt16LE(8, 8); // deflate
      local.writeUInt16LE(time, 10);
      local.writeUInt16LE(day, 12);
      local.writeUInt16LE(name.length, 26);
      await write(Buffer.concat([local, name]));
      let crc = 0;
      let size = 0;
      let compressed = 0;
      const deflate = createDeflateRaw({ level: 6, memLevel: 9, strategy: constants.Z_DEFAULT_STRATEGY });
      const input = createReadStream(path);
      input.on('data', (chunk) => {
        const bytes = chunk as Buffer;
        crc = crc32(bytes, crc);
        size += bytes.length;
      });
      input.pipe(deflate);
      for await (const chunk of deflate) {
        compressed += (chunk as Buffer).length;
        await write(chunk as Buffer);
      }
      if (size > LIMIT || offset > LIMIT) throw new Error(`${path}: too large for a zip without ZIP64`);
      const descriptor = Buffer.alloc(16);
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(crc >>> 0, 4);
      descriptor.writeUInt32LE(compressed, 8);
      descriptor.writeUInt32LE(size, 12);
      await write(descriptor);
      const entry = Buffer.alloc(46);
      entry.writeUInt32LE(0x02014b50, 0);
      entry.writeUInt16LE(20, 4);
      entry.writeUInt16LE(20, 6);
      entry.writeUInt16LE(0x0808, 8);
      entry.writeUInt16LE(8, 10);
      entry.writeUInt16LE(time, 12);
      entry.writeUInt16LE(day, 14);
      entry.writeUInt32LE(crc >>> 0, 16);
      entry.writeUInt32LE(compressed, 20);
      entry.writeUInt32LE(size, 24);
      entry.writeUInt16LE(name.length, 28);
      entry.writeUInt32LE(headerOffset, 42);
      central.push(entry, name);
    }
    const directory = Buffer.concat(central);
    const directoryOffset = offset;
    await write(directory);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(central.length / 2, 8);
    end.writeUInt16LE(central.length / 2, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(directoryOffset, 16);
    await write(end);
  } finally {
    out.end();
    await once(out, 'close');
  }
}
