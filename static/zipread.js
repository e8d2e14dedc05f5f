// zipread.js: reads a zip chosen in the page without reading the whole file (packages can be
// gigabytes): the end of central directory from the file's tail, the central directory with one
// File.slice, and single entries by their local header. Deflated entries are inflated with the
// browser's DecompressionStream('deflate-raw'), stored ones are taken as they are; every read
// has a byte limit. Zip64 archives (more than 65,535 entries or 4 GiB) are read through their
// zip64 records. Errors are ZipError with a sentence for the page.
'use strict';

const ZipRead = (() => {
  const EOCD = 0x06054b50, EOCD64 = 0x06064b50, LOC64 = 0x07064b50, CDH = 0x02014b50, LFH = 0x04034b50;
  const MAX_CD_BYTES = 64 << 20; // 10,000 entries with 1 KiB names and long extras stay far below

  class ZipError extends Error {}

  async function bytesAt(file, start, len) {
    if (start < 0 || start + len > file.size) throw new ZipError('the zip is truncated (it ends before its directory says)');
    return new DataView(await file.slice(start, start + len).arrayBuffer());
  }
  const u64 = (dv, o) => {
    const v = dv.getUint32(o, true) + dv.getUint32(o + 4, true) * 2 ** 32;
    if (!Number.isSafeInteger(v)) throw new ZipError('the zip declares an impossible size');
    return v;
  };

  // {entries: [{name, method, flags, csize, usize, offset}], zip64} — folders included
  // (names ending in '/'), in directory order. maxEntries: refused above it.
  async function list(file, maxEntries) {
    const tailLen = Math.min(file.size, 22 + 65535);
    if (tailLen < 22) throw new ZipError('not a zip file (too short)');
    const tail = await bytesAt(file, file.size - tailLen, tailLen);
    let at = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.getUint32(i, true) === EOCD) { at = i; break; }
    }
    if (at < 0) throw new ZipError('not a zip file (no end of central directory)');
    if (tail.getUint16(at + 4, true) !== 0 || tail.getUint16(at + 6, true) !== 0) {
      throw new ZipError('multi-part (split) zips are not accepted; zip the folder into one file');
    }
    let count = tail.getUint16(at + 10, true), cdSize = tail.getUint32(at + 12, true), cdOff = tail.getUint32(at + 16, true);
    let zip64 = false;
    if (count === 0xffff || cdSize === 0xffffffff || cdOff === 0xffffffff) {
      const locAt = file.size - tailLen + at - 20;
      const loc = locAt >= 0 ? await bytesAt(file, locAt, 20) : null;
      if (!loc || loc.getUint32(0, true) !== LOC64) throw new ZipError('the zip64 directory locator is missing (a damaged zip)');
      const rec = await bytesAt(file, u64(loc, 8), 56);
      if (rec.getUint32(0, true) !== EOCD64) throw new ZipError('the zip64 end of central directory is missing (a damaged zip)');
      count = u64(rec, 32); cdSize = u64(rec, 40); cdOff = u64(rec, 48);
      zip64 = true;
    }
    if (count > maxEntries) throw new ZipError(`the zip has ${count} entries; at most ${maxEntries} are accepted`);
    if (cdSize > MAX_CD_BYTES) throw new ZipError('the zip directory is larger than 64 MiB');
    const cd = await bytesAt(file, cdOff, cdSize);
    const dec = new TextDecoder('utf-8', { fatal: true });
    const entries = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cdSize || cd.getUint32(p, true) !== CDH) throw new ZipError('the zip directory is damaged (bad record ' + i + ')');
      const nlen = cd.getUint16(p + 28, true), xlen = cd.getUint16(p + 30, true), clen = cd.getUint16(p + 32, true);
      if (p + 46 + nlen + xlen + clen > cdSize) throw new ZipError('the zip directory is damaged (record ' + i + ' runs past it)');
      let name;
      try {
        name = dec.decode(new Uint8Array(cd.buffer, cd.byteOffset + p + 46, nlen));
      } catch (_) {
        throw new ZipError('entry ' + (i + 1) + ' has a name that is not UTF-8');
      }
      const e = {
        name, flags: cd.getUint16(p + 8, true), method: cd.getUint16(p + 10, true),
        csize: cd.getUint32(p + 20, true), usize: cd.getUint32(p + 24, true), offset: cd.getUint32(p + 42, true),
      };
      // zip64 extra field: the 8-byte values of the fields that are 0xffffffff, in this order
      let x = p + 46 + nlen;
      const xend = x + xlen;
      while (x + 4 <= xend) {
        const id = cd.getUint16(x, true), len = cd.getUint16(x + 2, true);
        if (id === 0x0001) {
          let q = x + 4;
          for (const k of ['usize', 'csize', 'offset']) {
            if (e[k] === 0xffffffff && q + 8 <= x + 4 + len) { e[k] = u64(cd, q); q += 8; }
          }
        }
        x += 4 + len;
      }
      entries.push(e);
      p += 46 + nlen + xlen + clen;
    }
    return { entries, zip64 };
  }

  // The entry's bytes (a Uint8Array) if it holds at most max bytes; refused otherwise, also
  // when inflating gives more than the directory declared (a lying header).
  async function read(file, e, max) {
    if (e.flags & 1) throw new ZipError(`'${e.name}' is encrypted`);
    if (e.usize > max) throw new ZipError(`'${e.name}' is ${e.usize} bytes; at most ${max} are read`);
    const lh = await bytesAt(file, e.offset, 30);
    if (lh.getUint32(0, true) !== LFH) throw new ZipError(`'${e.name}': no local header where the directory says`);
    const start = e.offset + 30 + lh.getUint16(26, true) + lh.getUint16(28, true);
    if (start + e.csize > file.size) throw new ZipError(`'${e.name}' runs past the end of the zip`);
    const raw = file.slice(start, start + e.csize);
    if (e.method === 0) {
      if (e.csize !== e.usize) throw new ZipError(`'${e.name}' is stored with two different sizes`);
      return new Uint8Array(await raw.arrayBuffer());
    }
    if (e.method !== 8) throw new ZipError(`'${e.name}' uses compression method ${e.method}; only deflate and stored are read`);
    if (typeof DecompressionStream === 'undefined') throw new ZipError('this browser cannot inflate zip entries');
    const reader = raw.stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader();
    const out = new Uint8Array(e.usize);
    let n = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (n + value.length > e.usize) {
          reader.cancel().catch(() => {});
          throw new ZipError(`'${e.name}' inflates to more than its declared ${e.usize} bytes`);
        }
        out.set(value, n);
        n += value.length;
      }
    } catch (err) {
      if (err instanceof ZipError) throw err;
      throw new ZipError(`'${e.name}' cannot be inflated (a damaged zip)`);
    }
    if (n !== e.usize) throw new ZipError(`'${e.name}' inflates to ${n} bytes, not the declared ${e.usize}`);
    return out;
  }

  return { list, read, ZipError };
})();
