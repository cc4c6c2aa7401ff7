"""Real-world uploads: top-1 / top-5 of a bundle when its paintings arrive as people send them.

    python benchmarks/real_world.py [--bundle assets/model] [--split test|val] [--data DIR] [--json OUT]

Each painting is turned into every kind of upload below (deterministic per file and kind), encoded
as a file, and identified through ``Predictor`` as the app does: with the crop finder on, and off.
Kinds: clean (the file as it is), wall (framed, hanging on a wall, the frame filling about half of
the photo, slight perspective), bw (black-and-white reproduction), thumbnail (256 px, JPEG q35),
detail (the central 60 % of each side), phone (perspective, uneven light, blur, noise, JPEG),
screenshot (shown in a browser window), rotated (turned 90 degrees), glare (a reflection).

The uploads are made here, independently of the training augmentation (``augment.py``).
``--data`` takes a folder of paintings (any layout the trainer reads) instead of the bundle's split.
Writes benchmarks/results/real_world.json (or ``--json``).
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from provenance import provenance  # noqa: E402

KINDS = ("clean", "wall", "bw", "thumbnail", "detail", "phone", "screenshot", "rotated", "glare")
WALL_COLOURS = [(236, 232, 220), (214, 222, 226), (190, 170, 150), (120, 130, 125), (245, 245, 240), (170, 60, 50)]
FRAME_COLOURS = [(92, 60, 34), (30, 28, 26), (180, 150, 80), (235, 230, 220), (120, 86, 50)]


def _encode(img: Image.Image, fmt: str = "JPEG", quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def _perspective(img: Image.Image, rng: np.random.Generator, strength: float) -> Image.Image:
    """Corners pulled in by up to ``strength`` of the side (a camera not quite square to the picture)."""
    w, h = img.size
    d = rng.uniform(0, strength, 8) * np.array([w, h] * 4)
    quad = (d[0], d[1], d[2], h - d[3], w - d[4], h - d[5], w - d[6], d[7])
    return img.transform(img.size, Image.Transform.QUAD, quad, Image.Resampling.BICUBIC)


def _wall(painting: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A framed painting on a lit wall; the frame covers about half of the photo's area."""
    photo_w, photo_h = 1600, 1200
    scale = np.sqrt(0.5 * photo_w * photo_h / (painting.width * painting.height)) / 1.15
    scale = min(scale, 0.9 * photo_w / painting.width / 1.15, 0.9 * photo_h / painting.height / 1.15)
    inner = painting.resize((int(painting.width * scale), int(painting.height * scale)), Image.Resampling.LANCZOS)
    frame = int(0.07 * max(inner.size))
    colour = FRAME_COLOURS[rng.integers(len(FRAME_COLOURS))]
    framed = Image.new("RGB", (inner.width + 2 * frame, inner.height + 2 * frame), colour)
    draw = ImageDraw.Draw(framed)
    for i in range(0, frame, max(1, frame // 4)):  # mouldings: alternating lighter and darker bands
        shade = tuple(int(c * (1.15 if (i // max(1, frame // 4)) % 2 else 0.8)) for c in colour)
        draw.rectangle((i, i, framed.width - 1 - i, framed.height - 1 - i), outline=shade, width=2)
    framed.paste(inner, (frame, frame))
    wall_colour = np.array(WALL_COLOURS[rng.integers(len(WALL_COLOURS))], np.float32)
    light = np.linspace(1.08, 0.85, photo_h)[:, None, None] * np.linspace(0.95, 1.05, photo_w)[None, :, None]
    wall = np.clip(wall_colour * light + rng.normal(0, 2.5, (photo_h, photo_w, 1)), 0, 255).astype(np.uint8)
    photo = Image.fromarray(wall)
    left = (photo_w - framed.width) // 2 + int(rng.integers(-60, 61))
    top = (photo_h - framed.height) // 2 + int(rng.integers(-40, 41))
    left, top = np.clip(left, 0, photo_w - framed.width), np.clip(top, 0, photo_h - framed.height)
    shadow = Image.new("L", framed.size, 90)
    photo.paste((20, 20, 20), (left + 8, top + 10), shadow)  # a soft shadow under the frame
    photo.paste(framed, (left, top))
    box = (left + frame, top + frame, left + frame + inner.width, top + frame + inner.height)
    return _perspective(photo, rng, 0.025), box


def _phone(painting: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A phone photo of the painting itself: slight perspective, uneven warm light, blur, noise, JPEG."""
    img = painting.resize((1600, int(1600 * painting.height / painting.width)), Image.Resampling.BICUBIC)
    img = _perspective(img, rng, 0.04)
    w, h = img.size
    light = np.linspace(rng.uniform(1.05, 1.2), rng.uniform(0.75, 0.9), w)[None, :, None]
    pixels = np.asarray(img, np.float32) * light * np.array([1.06, 1.0, 0.9])
    pixels += rng.normal(0, 3, pixels.shape)
    img = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.2))
    return img


def _screenshot(painting: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """The painting on a web page in a browser window, with toolbar and text around it."""
    screen = Image.new("RGB", (1440, 900), (255, 255, 255))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, 1440, 86), fill=(222, 225, 230))
    draw.rounded_rectangle((12, 8, 260, 38), 8, fill=(255, 255, 255))  # a tab
    draw.rounded_rectangle((120, 48, 1300, 78), 14, fill=(241, 243, 244))  # the address bar
    shown = painting.copy()
    shown.thumbnail((int(1440 * rng.uniform(0.4, 0.6)), 700), Image.Resampling.LANCZOS)
    left, top = 80 + int(rng.integers(0, 60)), 130
    screen.paste(shown, (left, top))
    for i in range(12):  # lines of text beside the picture
        y = 140 + 28 * i
        draw.rectangle((left + shown.width + 40, y, 1380 - int(rng.integers(0, 200)), y + 10), fill=(90, 90, 90))
    return screen, (left, top, left + shown.width, top + shown.height)


def _glare(painting: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A reflection of a window or lamp: a bright soft ellipse and a little lost contrast."""
    w, h = painting.size
    y, x = np.ogrid[:h, :w]
    cx, cy = rng.uniform(0.25, 0.75) * w, rng.uniform(0.2, 0.6) * h
    spot = np.exp(-(((x - cx) / (0.18 * w)) ** 2 + ((y - cy) / (0.12 * h)) ** 2))[..., None]
    pixels = np.asarray(ImageEnhance.Contrast(painting).enhance(0.85), np.float32)
    return Image.fromarray((pixels + (255 - pixels) * 0.85 * spot).astype(np.uint8))


def make_upload(path: Path, kind: str) -> tuple[bytes, tuple[int, int, int, int] | None]:
    """The upload of ``kind`` made from one painting file, and where the painting is in it (wall and
    screenshot only). The same file and kind always give the same bytes."""
    if kind == "clean":
        return path.read_bytes(), None
    rng = np.random.default_rng([zlib.crc32(kind.encode()), zlib.crc32(path.name.encode())])
    painting = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    if kind == "wall":
        photo, box = _wall(painting, rng)
        return _encode(photo, quality=85), box
    if kind == "screenshot":
        screen, box = _screenshot(painting, rng)
        return _encode(screen, "PNG"), box
    if kind == "bw":
        return _encode(ImageEnhance.Contrast(ImageOps.grayscale(painting)).enhance(1.1), quality=85), None
    if kind == "thumbnail":
        painting.thumbnail((256, 256), Image.Resampling.BICUBIC)
        return _encode(painting, quality=35), None
    if kind == "detail":
        w, h = painting.size
        return _encode(painting.crop((int(0.2 * w), int(0.2 * h), int(0.8 * w), int(0.8 * h))), quality=90), None
    if kind == "phone":
        return _encode(_phone(painting, rng), quality=70), None
    if kind == "rotated":
        return _encode(painting.transpose(Image.Transpose.ROTATE_270), quality=90), None
    if kind == "glare":
        return _encode(_glare(painting, rng), quality=85), None
    raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")


def box_iou(a, b) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union else 0.0


def paintings_of(args) -> tuple[list[Path], list[str]]:
    """(files, artist names) to benchmark: a data folder, or the bundle's split."""
    from painting_classifier import load_bundle
    from painting_classifier.data import scan_dataset

    bundle = load_bundle(args.bundle)
    names = dict(zip(bundle.artists["label_name"], bundle.artists["name"]))
    if args.data:
        dataset = scan_dataset(args.data, progress=False)
        rows = dataset.paintings
        files = [Path(f) for f in dataset.files(rows)]
    else:
        rows = bundle.split[bundle.split["split"] == args.split]
        files = bundle.files(rows)
    files, artists = files[: args.limit or None], [names.get(a, a) for a in rows["artist"]][: args.limit or None]
    return files, artists


def run_kind(predictor, files: list[Path], artists: list[str], kind: str, crop: bool) -> dict:
    """Top-1 / top-5 of one kind of upload (and how often, and how well, a painting was cut out)."""
    top1 = top5 = cropped = 0
    ious, seconds = [], []
    for path, artist in zip(files, artists):
        upload, box = make_upload(path, kind)
        start = time.perf_counter()
        found = predictor.identify(upload, top_k=5, find=crop)
        seconds.append(time.perf_counter() - start)
        names = [name for name, _ in found.ranked]
        top1 += names[0] == artist
        top5 += artist in names
        cropped += found.crop is not None
        if box is not None:  # the crop's coordinates are the decoded image's, maybe at reduced scale
            scale = found.found.image_size[0] / Image.open(io.BytesIO(upload)).width
            ious.append(box_iou(found.crop.box, [c * scale for c in box]) if found.crop is not None else 0.0)
    n = max(1, len(files))
    row = {"kind": kind, "crop": crop, "n": len(files), "top1": round(top1 / n, 4), "top5": round(top5 / n, 4),
           "cropped": round(cropped / n, 4), "ms_per_image": round(1000 * float(np.median(seconds)), 1)}
    if ious:
        row["painting_iou"] = round(float(np.mean(ious)), 3)
    return row


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "assets" / "model")
    parser.add_argument("--split", default="test", choices=("test", "val", "train"))
    parser.add_argument("--data", type=Path, help="a folder of paintings instead of the bundle's split")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated kinds of upload")
    parser.add_argument("--no-crop-runs", action="store_true", help="skip the runs with the crop finder off")
    parser.add_argument("--limit", type=int, default=0, help="only the first N paintings")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "real_world.json")
    args = parser.parse_args(argv)

    from painting_classifier import Predictor

    files, artists = paintings_of(args)
    predictor = Predictor.from_bundle(args.bundle)
    rows = []
    for kind in args.kinds.split(","):
        for crop in (True,) if args.no_crop_runs else (True, False):
            rows.append(run_kind(predictor, files, artists, kind, crop))
            print(json.dumps(rows[-1]), flush=True)
    clean = next((r["top1"] for r in rows if r["kind"] == "clean" and r["crop"]), None)
    for row in rows:
        row["change_vs_clean"] = None if clean is None else round(row["top1"] - clean, 4)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({**provenance(predictor.bundle.checksum, runs=1), "bundle": str(args.bundle),
                                     "paintings": args.data and str(args.data) or f"{args.split} split",
                                     "runtime": predictor.runtime, "results": rows}, indent=1))
    return rows


if __name__ == "__main__":
    main()
