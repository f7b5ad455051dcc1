#!/usr/bin/python3
"""Independent judge of pixel identity and orientation, using Pillow (Debian python3-pil).

Reads JSON from stdin: [{"input": path, "output": path | null}, ...].
Writes JSON to stdout, one object per pair:
  {"input", "loads": bool (Pillow's load() reads every frame of the input without error),
   "equal": bool | null (every frame of the output decodes to the same pixels as the input),
   "upright": bool | null (the output, displayed with its EXIF orientation applied, matches the
   input displayed the same way), "orientation_in": int, "orientation_out": int}
"""
import json
import sys
import warnings

from PIL import Image, ImageOps

warnings.simplefilter("ignore")
Image.MAX_IMAGE_PIXELS = None


def frames(path):
    """Decoded frames as (mode, size, bytes); raises when Pillow cannot decode."""
    out = []
    with Image.open(path) as im:
        n = getattr(im, "n_frames", 1)
        for i in range(n):
            im.seek(i)
            im.load()
            out.append((im.mode, im.size, im.tobytes()))
    return out


def orientation(path):
    try:
        with Image.open(path) as im:
            return int(im.getexif().get(0x0112, 1) or 1)
    except Exception:
        return 1


def displayed(path):
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).convert("RGBA").tobytes()


def judge(pair):
    res = {"input": pair["input"], "loads": False, "equal": None, "upright": None}
    try:
        a = frames(pair["input"])
        res["loads"] = True
    except Exception as e:
        res["error"] = str(e)[:200]
        return res
    out = pair.get("output")
    if not out:
        return res
    try:
        b = frames(out)
        res["equal"] = a == b
    except Exception as e:
        res["equal"] = False
        res["error"] = "output: " + str(e)[:200]
        return res
    res["orientation_in"] = orientation(pair["input"])
    res["orientation_out"] = orientation(out)
    try:
        res["upright"] = displayed(pair["input"]) == displayed(out)
    except Exception as e:
        res["upright"] = False
        res["error"] = "display: " + str(e)[:200]
    return res


def main():
    pairs = json.load(sys.stdin)
    json.dump([judge(p) for p in pairs], sys.stdout)


if __name__ == "__main__":
    main()
