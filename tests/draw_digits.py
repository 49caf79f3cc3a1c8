#!/usr/bin/env python3
"""Draws handwritten-like digits as a person with a paint program would: dark strokes on
white paper, anywhere in the frame and of any size, not prepared as MNIST's digits were.

Usage: draw_digits.py DIR [--count N] [--size WxH] [--seed S]

Writes DIR/LABEL-K.pgm (P5, 8 bits): N pictures (default 40, four of each digit) of WxH
pixels (default 28x28). Each digit is a few strokes (lines and arcs) in a unit box, slanted,
stretched, scaled to between a third and the whole of the frame's height, moved off centre
and drawn with an anti-aliased pen of 1 to 3 pixels (in a 28-pixel-high frame; in
proportion in others). Only the Python standard library.

`mlp predict MODEL DIR --invert` then reads them as they are, `mlp predict MODEL DIR
--center` prepares them as MNIST's were; the label is the file name's first character.
"""
import math
import os
import random
import sys


def arc(cx, cy, rx, ry, a0, a1, steps=24):
    """Points of an ellipse's arc, angles in degrees, y down."""
    return [(cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / steps)),
             cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / steps)))
            for i in range(steps + 1)]


# Each digit: strokes, each a list of points in a box 0..1 wide and 0..1 tall, y down.
GLYPHS = {
    0: [arc(0.5, 0.5, 0.38, 0.48, 0, 360)],
    1: [[(0.3, 0.2), (0.55, 0.0), (0.55, 1.0)]],
    2: [arc(0.5, 0.3, 0.38, 0.3, 180, 360) + [(0.1, 1.0), (0.95, 1.0)]],
    3: [arc(0.45, 0.27, 0.35, 0.25, 200, 450), arc(0.45, 0.73, 0.4, 0.27, 270, 520)],
    4: [[(0.7, 1.0), (0.7, 0.0), (0.05, 0.68), (1.0, 0.68)]],
    5: [[(0.9, 0.0), (0.2, 0.0), (0.15, 0.45)] + arc(0.5, 0.68, 0.4, 0.32, 230, 500)],
    6: [arc(0.7, 0.45, 0.5, 0.45, 250, 180, 12) + arc(0.5, 0.7, 0.36, 0.3, 180, 540)],
    7: [[(0.05, 0.0), (0.95, 0.0), (0.4, 1.0)]],
    8: [arc(0.5, 0.26, 0.3, 0.26, 0, 360), arc(0.5, 0.73, 0.38, 0.27, 0, 360)],
    9: [arc(0.5, 0.3, 0.36, 0.3, 0, 360), [(0.86, 0.3), (0.75, 1.0)]],
}


def distance(px, py, a, b):
    """Distance from (px, py) to the segment a-b."""
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) /
                                                (dx * dx + dy * dy)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def draw(label, w, h, rng):
    """One picture: bytes, row by row, 255 paper and 0 ink."""
    height = rng.uniform(h / 3, h * 0.95)
    width = height * rng.uniform(0.45, 0.8)
    slant = rng.uniform(-0.25, 0.25)
    x0 = rng.uniform(0, max(0.0, w - width))
    y0 = rng.uniform(0, max(0.0, h - height))
    pen = rng.uniform(1.0, 3.0) * h / 28 # a larger frame, a broader brush
    segs = []
    for stroke in GLYPHS[label]:
        pts = [(x0 + (x + slant * (1 - y)) * width, y0 + y * height) for x, y in stroke]
        segs += list(zip(pts, pts[1:]))
    px = bytearray()
    for y in range(h):
        for x in range(w):
            d = min(distance(x + 0.5, y + 0.5, a, b) for a, b in segs)
            ink = max(0.0, min(1.0, pen / 2 + 0.5 - d))
            px.append(round(255 * (1 - ink)))
    return bytes(px)


def main(argv):
    args = {"--count": "40", "--size": "28x28", "--seed": "1"}
    pos = []
    it = iter(argv)
    for a in it:
        if a in args:
            args[a] = next(it)
        else:
            pos.append(a)
    if len(pos) != 1:
        sys.exit(__doc__.split("\n\n")[1])
    out = pos[0]
    w, h = (int(v) for v in args["--size"].split("x"))
    rng = random.Random(int(args["--seed"]))
    os.makedirs(out, exist_ok=True)
    for k in range(int(args["--count"])):
        label = k % 10
        with open(os.path.join(out, "%d-%02d.pgm" % (label, k)), "wb") as f:
            f.write(b"P5\n%d %d\n255\n" % (w, h) + draw(label, w, h, rng))


if __name__ == "__main__":
    main(sys.argv[1:])
