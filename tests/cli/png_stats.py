#!/usr/bin/env python3
"""png_stats.py: what a screenshot shows, for tests/cli/report.sh (stdlib only).

usage: png_stats.py FILE.png [--crop Y0 Y1 OUT.png]
Prints "width height nonwhite_fraction distinct_colors rows_with_ink": the
fraction of pixels that are not near-white, the number of distinct colours
(a blank or single-colour picture has 1 or 2) and the fraction of pixel rows
holding any non-white pixel. --crop writes rows [Y0, Y1) as a new PNG (to
look at a part of a tall page)."""
import struct
import sys
import zlib


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    width, height, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise SystemExit(f"{path}: unsupported PNG (depth {depth}, colour type {ctype})")
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    lo7 = int.from_bytes(b"\x7f" * stride, "big")
    hi1 = int.from_bytes(b"\x80" * stride, "big")
    rows, prev, off = [], bytes(stride), 0
    for _ in range(height):
        ftype = raw[off]
        cur = raw[off + 1:off + 1 + stride]
        off += 1 + stride
        if ftype == 0:
            line = bytes(cur)
        elif ftype == 2:  # Up: bytewise add of two rows, done on big integers
            a, b = int.from_bytes(cur, "big"), int.from_bytes(prev, "big")
            line = (((a & lo7) + (b & lo7)) ^ ((a ^ b) & hi1)).to_bytes(stride, "big")
        else:
            line = bytearray(cur)
            if ftype == 1:
                for i in range(bpp, stride):
                    line[i] = (line[i] + line[i - bpp]) & 255
            elif ftype == 3:
                for i in range(stride):
                    left = line[i - bpp] if i >= bpp else 0
                    line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
            elif ftype == 4:
                for i in range(bpp):
                    line[i] = (line[i] + prev[i]) & 255
                for i in range(bpp, stride):
                    a, b, c = line[i - bpp], prev[i], prev[i - bpp]
                    pa, pb, pc = b - c, a - c, a + b - c - c
                    if pa < 0: pa = -pa
                    if pb < 0: pb = -pb
                    if pc < 0: pc = -pc
                    line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            else:
                raise SystemExit(f"bad PNG filter {ftype}")
            line = bytes(line)
        rows.append(line)
        prev = line
    return width, height, bpp, rows


def write_png(path, width, bpp, rows):
    ctype = 2 if bpp == 3 else 6
    raw = b"".join(b"\x00" + r for r in rows)
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, len(rows), 8, ctype, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    open(path, "wb").write(png)


def main():
    width, height, bpp, rows = read_png(sys.argv[1])
    if len(sys.argv) == 6 and sys.argv[2] == "--crop":
        y0, y1 = int(sys.argv[3]), int(sys.argv[4])
        write_png(sys.argv[5], width, bpp, rows[y0:y1])
        return
    ink, inked_rows, colors = 0, 0, set()
    rows = rows[::2]  # every other row and pixel: enough, and fast
    for r in rows:
        row_ink = 0
        for x in range(0, len(r), bpp * 2):
            px = r[x:x + 3]
            if len(colors) < 4096:
                colors.add(px)
            if px[0] < 235 or px[1] < 235 or px[2] < 235:
                row_ink += 1
        ink += row_ink
        inked_rows += row_ink > 0
    sampled = len(rows) * ((width + 1) // 2)
    print(width, height, f"{ink / sampled:.4f}", len(colors), f"{inked_rows / len(rows):.4f}")


if __name__ == "__main__":
    main()
