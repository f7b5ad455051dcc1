#!/usr/bin/python3
"""Independent judge of a transform's output, using Pillow (Debian python3-pil).

Reads JSON from stdin: [{"input": path, "output": path}, ...]; the output must be a file
Pillow reads (the test decodes AVIF to PNG first).
Writes JSON to stdout, one object per pair:
  {"input", "output", "reference": [w, h] (the input as displayed: orientation applied),
   "size": [w, h] (the output), "aspect": float (relative difference of the two aspect
   ratios), "diff": float (mean absolute difference per channel, 0-255, between small
   renderings of the input (colour-managed to sRGB, over white) and of the output: 16 x 16,
   or an eighth of the side of a smaller picture, whose fine detail a lossy encoder may
   blur), "unreadable": str | null (Pillow cannot read the input: not judged),
   "error": str | null (the output cannot be read)}
"""
import io
import json
import sys
import warnings

from PIL import Image, ImageCms, ImageOps

warnings.simplefilter("ignore")
Image.MAX_IMAGE_PIXELS = None

SRGB = ImageCms.createProfile("sRGB")
SIDE = 16


def eight_bit(im):
    """Pillow clips 16-bit greyscale when converting; scale it down first."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        return im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    return im


def over_white(im):
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def reference(path):
    with Image.open(path) as opened:
        opened.seek(0)
        im = ImageOps.exif_transpose(opened)
        im.load()
        icc = opened.info.get("icc_profile")
    im = eight_bit(im)
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if im.mode in ("RGB", "CMYK", "L"):
                im = ImageCms.profileToProfile(im, source, SRGB, outputMode="RGB")
            elif im.mode == "RGBA":
                alpha = im.getchannel("A")
                im = ImageCms.profileToProfile(im.convert("RGB"), source, SRGB, outputMode="RGB")
                im.putalpha(alpha)
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass
    return over_white(im)


def rendering(path):
    with Image.open(path) as opened:
        opened.seek(0)
        opened.load()
        return over_white(eight_bit(opened))


def mean_diff(a, b):
    side = max(1, min(SIDE, a.size[0] // 8, a.size[1] // 8))
    small_a = a.resize((side, side), Image.BOX)
    small_b = b.resize((side, side), Image.BOX)
    total = 0
    for pa, pb in zip(small_a.getdata(), small_b.getdata()):
        total += sum(abs(x - y) for x, y in zip(pa, pb))
    return total / (side * side * 3)


def judge(pair):
    verdict = {"input": pair["input"], "output": pair["output"], "unreadable": None, "error": None}
    try:
        ref = reference(pair["input"])
    except Exception as error:  # noqa: BLE001 - Pillow reads less than libvips
        verdict["unreadable"] = f"{type(error).__name__}: {error}"
        return verdict
    try:
        out = rendering(pair["output"])
        verdict["reference"] = list(ref.size)
        verdict["size"] = list(out.size)
        verdict["aspect"] = abs(
            (ref.size[0] / ref.size[1]) / (out.size[0] / out.size[1]) - 1
        )
        verdict["diff"] = mean_diff(ref, out)
    except Exception as error:  # noqa: BLE001 - any failure is the verdict
        verdict["error"] = f"{type(error).__name__}: {error}"
    return verdict


print(json.dumps([judge(pair) for pair in json.load(sys.stdin)]))
