#!/usr/bin/env python3
"""Writes the PNG fixtures that tests/test_png_read.c decodes, into tests/png/.

Run from the repository's root: python3 tests/png_fixtures.py
The files are committed, so `make test` needs neither Python nor ImageMagick.

Two independent encoders make them:
  - this script, with nothing but zlib and struct: every colour type at every bit depth the
    standard allows, plain and Adam7-interlaced, every row's filter type chosen in turn from
    the five (None, Sub, Up, Average, Paeth), the deflate data stored, fixed-Huffman or
    dynamic, the zlib stream cut into several IDAT chunks (one of them empty) for some, tRNS
    for colour types 0, 2 and 3, ancillary chunks the reader must skip, and the padding bits
    at the end of short rows set to 1, which a reader must ignore;
  - ImageMagick's convert (libpng underneath), when it is installed, from the same kind of
    pixels, with its own filter choice and compression.
Beside each NAME.png goes NAME.pgm: a 16-bit P5 PGM (maxval 65535) of the grey values the
reader must give, computed here from the pixels by png.h's formula, exactly in fractions,
then rounded to 1/65535:
  grey Y = sample / (2^depth - 1), or (299 R + 587 G + 114 B) / 1000 / (2^depth - 1)
  alpha a = A / (2^depth - 1) (palette: tRNS entry / 255; tRNS key colour: 0; else 1)
  out = a * Y + (1 - a)
When ImageMagick and pngcheck are there, every file is also checked with both: pngcheck
must find no error, and the grey values computed from the samples ImageMagick decodes
must equal the PGM's.
"""

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from fractions import Fraction

OUT = os.path.join("tests", "png")
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
KIND = {0: "g", 2: "rgb", 3: "p", 4: "ga", 6: "rgba"}
# Adam7: (x0, y0, dx, dy) of each pass
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2))


class Rng:
    """A 64-bit LCG (Knuth's MMIX constants): the same fixtures on every run."""

    def __init__(self, seed):
        self.s = seed

    def below(self, n):
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        return (self.s >> 33) % n


def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))


def pack_row(samples, depth):
    """Samples of one row, most significant bit first; the padding bits are 1s."""
    if depth == 16:
        return b"".join(struct.pack(">H", v) for v in samples)
    if depth == 8:
        return bytes(samples)
    out, acc, bits = bytearray(), 0, 0
    for v in samples:
        acc, bits = acc << depth | v, bits + depth
        if bits == 8:
            out.append(acc)
            acc, bits = 0, 0
    if bits:
        out.append((acc << (8 - bits) | ((1 << (8 - bits)) - 1)) & 0xff)
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def filter_row(kind, row, prior, bpp):
    out = bytearray([kind])
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prior[i] if prior else 0
        c = prior[i - bpp] if prior and i >= bpp else 0
        pred = (0, a, b, (a + b) >> 1, paeth(a, b, c))[kind]
        out.append((x - pred) & 0xff)
    return out


def raw_data(px, w, h, ctype, depth, interlace, first_filter, step=1):
    """The filtered rows of px (h rows of w pixels, each a tuple of samples), pass by pass.
    Row k of the image data gets filter type (first_filter + k * step) % 5."""
    bpp = max(1, CHANNELS[ctype] * depth // 8)
    passes = ADAM7 if interlace else ((0, 0, 1, 1),)
    out, k = bytearray(), first_filter
    for x0, y0, dx, dy in passes:
        cols, rows = range(x0, w, dx), range(y0, h, dy)
        if not cols or not rows:
            continue  # an empty pass has no rows, not even filter bytes
        prior = None
        for y in rows:
            row = pack_row([s for x in cols for s in px[y][x]], depth)
            out += filter_row(k % 5, row, prior, bpp)
            prior, k = row, k + step
    return bytes(out)


def compress(raw, how):
    if how == "stored":
        return zlib.compress(raw, 0)
    if how == "fixed":
        c = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_FIXED)
        return c.compress(raw) + c.flush()
    return zlib.compress(raw, 9)


def grey_of(ctype, depth, pixel, palette, trns):
    """The reader's output for one pixel, exactly (png.h's formula)."""
    m = (1 << depth) - 1
    if ctype == 3:
        r, g, b = palette[pixel[0]]
        alpha = trns[pixel[0]] if trns and pixel[0] < len(trns) else 255
        return Fraction(alpha, 255) * Fraction(299 * r + 587 * g + 114 * b, 255000) + \
            1 - Fraction(alpha, 255)
    colour = pixel[:3] if ctype in (2, 6) else pixel[:1]
    if trns is not None and tuple(colour) == tuple(trns):
        return Fraction(1)
    if len(colour) == 3:
        y = Fraction(299 * colour[0] + 587 * colour[1] + 114 * colour[2], 1000 * m)
    else:
        y = Fraction(colour[0], m)
    a = Fraction(pixel[-1], m) if ctype in (4, 6) else Fraction(1)
    return a * y + 1 - a


def pgm16(values, w, h):
    body = b"".join(struct.pack(">H", round(v * 65535)) for row in values for v in row)
    return b"P5\n%d %d\n65535\n" % (w, h) + body


def make_pixels(ctype, depth, w, h, rng, n_palette, small=None):
    """Samples for every pixel: random (below small, if given), with the extremes (0 and the
    largest value, opaque and transparent) in the first row so that they are always there."""
    m = (1 << depth) - 1
    n = CHANNELS[ctype]
    top = n_palette - 1 if ctype == 3 else m
    px = []
    for y in range(h):
        row = []
        for x in range(w):
            if y == 0 and x < 4:
                pick = (0, top, top // 2, 0)[x]
                pix = [pick] * n
                if ctype in (4, 6):
                    pix[-1] = (m, m, 0, m // 3)[x]
            else:
                pix = [rng.below(small or top + 1) for _ in range(n)]
            row.append(tuple(pix))
        px.append(row)
    return px


def encode(spec, rng):
    """One fixture: the PNG's bytes and the grey values it must decode to."""
    ctype, depth, w, h = spec["ctype"], spec["depth"], spec["w"], spec["h"]
    n_palette = spec.get("n_palette", min(1 << depth, 200)) if ctype == 3 else 0
    px = make_pixels(ctype, depth, w, h, rng, n_palette, spec.get("small"))
    palette = [(rng.below(256), rng.below(256), rng.below(256)) for _ in range(n_palette)]
    trns = None
    if spec.get("trns"):
        if ctype == 3:
            trns = [rng.below(256) for _ in range(max(1, n_palette // 2))] + [0]
            trns = trns[:n_palette]
        else:  # the colour of a pixel that is there: some pixels turn white
            trns = px[h // 2][w // 2][:CHANNELS[ctype]]
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, spec.get("interlace", 0))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    for kind, data in spec.get("before", ()):
        out += chunk(kind, data)
    if ctype == 3 or spec.get("suggested_palette"):
        pal = palette if ctype == 3 else [(10, 20, 30), (40, 50, 60)]
        out += chunk(b"PLTE", bytes(v for e in pal for v in e))
    if trns is not None:
        if ctype == 3:
            out += chunk(b"tRNS", bytes(trns))
        else:
            out += chunk(b"tRNS", b"".join(struct.pack(">H", v) for v in trns))
    raw = raw_data(px, w, h, ctype, depth, spec.get("interlace", 0), spec.get("filter", 0),
                   0 if spec.get("one_filter") else 1)
    z = compress(raw, spec.get("zlib", "dynamic"))
    split = spec.get("split")
    if split:
        parts = [z[i:i + split] for i in range(0, len(z), split)]
        parts.insert(1, b"")  # an empty IDAT chunk is allowed
    else:
        parts = [z]
    for p in parts:
        out += chunk(b"IDAT", p)
    for kind, data in spec.get("after", ()):
        out += chunk(kind, data)
    out += chunk(b"IEND", b"")
    grey = [[grey_of(ctype, depth, px[y][x], palette, trns) for x in range(w)] for y in range(h)]
    return out, grey


def specs():
    """Every colour type and depth, plain and interlaced, then the special cases."""
    zlibs = ("dynamic", "fixed", "stored")
    k = 0
    for ctype in (0, 2, 3, 4, 6):
        for depth in DEPTHS[ctype]:
            for interlace in (0, 1):
                name = "%s%d%s" % (KIND[ctype], depth, "i" if interlace else "")
                yield name, dict(ctype=ctype, depth=depth, w=13, h=11, interlace=interlace,
                                 filter=k % 5, zlib=zlibs[k % 3])
                k += 1
    ancillary = [(b"gAMA", struct.pack(">I", 45455)), (b"tEXt", b"Comment\0a fixture"),
                 (b"prIv", b"a private ancillary chunk")]
    yield "g8t", dict(ctype=0, depth=8, w=13, h=11, trns=True, split=40)
    yield "g2ti", dict(ctype=0, depth=2, w=13, h=11, interlace=1, trns=True)
    yield "g16t", dict(ctype=0, depth=16, w=9, h=7, trns=True, zlib="fixed")
    yield "rgb8t", dict(ctype=2, depth=8, w=13, h=11, trns=True, before=ancillary)
    yield "rgb16ti", dict(ctype=2, depth=16, w=13, h=11, interlace=1, trns=True, split=100)
    yield "p4t", dict(ctype=3, depth=4, w=13, h=11, trns=True, n_palette=11)
    yield "p8ti", dict(ctype=3, depth=8, w=13, h=11, interlace=1, trns=True, zlib="stored")
    yield "p1-partial", dict(ctype=3, depth=1, w=13, h=11, n_palette=1)
    yield "rgb8-plte", dict(ctype=2, depth=8, w=6, h=5, suggested_palette=True,
                            after=[(b"tIME", struct.pack(">HBBBBB", 2024, 5, 6, 7, 8, 9))])
    yield "rgba8-split", dict(ctype=6, depth=8, w=6, h=5, split=1, filter=4)
    yield "g8-1x1i", dict(ctype=0, depth=8, w=1, h=1, interlace=1)
    yield "ga16-3x2i", dict(ctype=4, depth=16, w=3, h=2, interlace=1, filter=3)
    yield "g1-1x9i", dict(ctype=0, depth=1, w=1, h=9, interlace=1)
    yield "p2-9x1i", dict(ctype=3, depth=2, w=9, h=1, interlace=1, filter=1)
    yield "g4-40x3", dict(ctype=0, depth=4, w=40, h=3, filter=2)
    # Paeth on samples of a few values only: many ties between the three predictors, which
    # the standard breaks in the order left, up, upper left
    yield "g8-paeth", dict(ctype=0, depth=8, w=16, h=8, filter=4, one_filter=True, small=4)
    yield "rgba8-paeth", dict(ctype=6, depth=8, w=8, h=6, filter=4, one_filter=True, small=5)


# ImageMagick's encoding of pixels made here: (name, PNG colour type, depth, interlace)
IM_SPECS = [("im-g8", 0, 8, 0), ("im-g16i", 0, 16, 1), ("im-g4", 0, 4, 0),
            ("im-rgb8i", 2, 8, 1), ("im-rgb16", 2, 16, 0), ("im-p8", 3, 8, 0),
            ("im-ga8i", 4, 8, 1), ("im-rgba8", 6, 8, 0), ("im-rgba16i", 6, 16, 1)]
TUPLTYPE = {0: b"GRAYSCALE", 2: b"RGB", 3: b"RGB", 4: b"GRAYSCALE_ALPHA", 6: b"RGB_ALPHA"}


def real_convert():
    c = shutil.which("convert")
    if not c:
        return None
    v = subprocess.run([c, "-version"], capture_output=True, text=True).stdout
    return c if "ImageMagick" in v else None


def im_fixture(convert, name, ctype, depth, interlace, rng, tmp):
    """A PAM of pixels made here, encoded to PNG by ImageMagick as the given type."""
    w, h = 13, 11
    if ctype == 3:  # few colours, so that a palette holds them all
        colours = [(rng.below(256), rng.below(256), rng.below(256)) for _ in range(20)]
        px = [[colours[rng.below(20)] for _ in range(w)] for _ in range(h)]
    else:
        m = (1 << depth) - 1
        px = [[tuple(rng.below(m + 1) for _ in range(CHANNELS[ctype])) for _ in range(w)]
              for _ in range(h)]
    src_ctype = 2 if ctype == 3 else ctype
    src_depth = 8 if ctype == 3 else depth
    maxval = (1 << src_depth) - 1
    pam = os.path.join(tmp, name + ".pam")
    with open(pam, "wb") as f:
        f.write(b"P7\nWIDTH %d\nHEIGHT %d\nDEPTH %d\nMAXVAL %d\nTUPLTYPE %s\nENDHDR\n" %
                (w, h, CHANNELS[src_ctype], maxval, TUPLTYPE[src_ctype]))
        fmt = ">H" if maxval > 255 else ">B"
        f.write(b"".join(struct.pack(fmt, s) for row in px for p in row for s in p))
    out = os.path.join(OUT, name + ".png")
    subprocess.run([convert, pam, "-strip", "-define", "png:color-type=%d" % ctype,
                    "-define", "png:bit-depth=%d" % depth,
                    "-interlace", "PNG" if interlace else "None", "PNG:" + out], check=True)
    with open(out, "rb") as f:
        got = f.read()
    if got[24:26] != bytes([depth, ctype]) or got[28] != interlace:
        sys.exit("%s: ImageMagick wrote depth %d type %d interlace %d" %
                 (out, got[24], got[25], got[28]))
    grey = [[grey_of(src_ctype, src_depth, p, None, None) for p in row] for row in px]
    return grey


def im_decode(convert, path):
    """The grey values of a PNG as ImageMagick decodes it: its 16-bit samples (RGB or grey,
    with or without alpha), then png.h's formula."""
    pam = subprocess.run([convert, path, "-depth", "16", "PAM:-"], capture_output=True,
                         check=True).stdout
    head, body = pam.split(b"ENDHDR\n", 1)
    fields = dict(line.split(b" ", 1) for line in head.split(b"\n")[1:] if b" " in line)
    w, h, n = int(fields[b"WIDTH"]), int(fields[b"HEIGHT"]), int(fields[b"DEPTH"])
    ctype = {1: 0, 2: 4, 3: 2, 4: 6}[n]
    vals = struct.unpack(">%dH" % (w * h * n), body)
    return [[grey_of(ctype, 16, vals[(y * w + x) * n:(y * w + x + 1) * n], None, None)
             for x in range(w)] for y in range(h)]


def check(convert, name, grey):
    path = os.path.join(OUT, name + ".png")
    if shutil.which("pngcheck"):
        r = subprocess.run(["pngcheck", "-q", path], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("pngcheck %s: %s" % (path, r.stdout + r.stderr))
    if convert:
        theirs = im_decode(convert, path)
        for y, (a, b) in enumerate(zip(theirs, grey)):
            for x, (u, v) in enumerate(zip(a, b)):
                if round(u * 65535) != round(v * 65535):
                    sys.exit("%s: ImageMagick decodes (%d, %d) to %s, expected %s" %
                             (path, y, x, float(u), float(v)))


def main():
    os.makedirs(OUT, exist_ok=True)
    convert = real_convert()
    rng = Rng(12)
    made = []
    for name, spec in specs():
        png, grey = encode(spec, rng)
        with open(os.path.join(OUT, name + ".png"), "wb") as f:
            f.write(png)
        made.append((name, grey))
    if convert:
        with tempfile.TemporaryDirectory() as tmp:
            for name, ctype, depth, interlace in IM_SPECS:
                made.append((name, im_fixture(convert, name, ctype, depth, interlace, rng, tmp)))
    else:
        print("no ImageMagick: the im-*.png fixtures are left as they are", file=sys.stderr)
    for name, grey in made:
        with open(os.path.join(OUT, name + ".pgm"), "wb") as f:
            f.write(pgm16(grey, len(grey[0]), len(grey)))
        check(convert, name, grey)
    print("%d fixtures in %s%s" % (len(made), OUT,
                                   ", checked with ImageMagick" if convert else ""))


if __name__ == "__main__":
    main()
