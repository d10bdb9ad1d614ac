"""Draw the hand-boxed gold photos (the box benchmark's set (a)) in labelloop's own box canvas.

The photos are the real ones that ship inside scikit-image. Where each object is was decided by
a person looking at each photo over a 50-pixel grid (:data:`INTENDED`: the object's extent,
people including their clothes and hair, a cup including its handle; objects the detector has no
class for, such as the model rocket or the helmet, are not boxed; two photos have no object of
the set's labels). The script then puts the photos in a fresh image-boxes project, serves it,
and in headless Chromium draws every box with the mouse on the annotate page (a drag from one
corner to the other at the canvas's fit zoom, Shift held so that a box can start inside
another, the label picked with its hotkey), submits each
image with Enter (``[]`` where it has no object), reads the stored answers back and writes them
to ``benchmarks/data/boxes_gold.json`` (what :func:`boxes_data.gold_photos` reads), printing how
far each stored box is from the intended corners.

    .venv/bin/python benchmarks/draw_gold_boxes.py [--out benchmarks/data/boxes_gold.json]

Needs Debian's chromium and Playwright, like the browser tests (it reuses their server and
launch flags from ``tests/server/live_server.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).parent / "data" / "boxes_gold.json"
LABELS = ["person", "cat", "coffee cup", "camera"]  # case-insensitive names of detector classes
#: scikit-image photo -> boxes ``(x, y, w, h, label)`` in its pixels, as a person placed them.
INTENDED: dict[str, list[tuple[float, float, float, float, str]]] = {
    "astronaut": [(18, 14, 350, 498, "person")],
    "camera": [(3, 63, 327, 449, "person"), (258, 138, 66, 52, "camera")],
    "chelsea": [(0, 0, 420, 300, "cat")],
    "coffee": [(172, 17, 243, 288, "coffee cup")],
    "rocket": [],
    "clock": [],
}
PASSWORD = "pw-gold-drawer"
OVERSHOOT = 5  # image pixels past an edge, so a drag to the image's edge ends exactly on it


def photo(name: str) -> Any:
    """The scikit-image photo ``name`` as a PIL RGB image."""
    import numpy as np
    from PIL import Image
    from skimage import data

    pixels = np.asarray(getattr(data, name)())
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    return Image.fromarray(np.ascontiguousarray(pixels[:, :, :3]).astype(np.uint8))


def corners(box: tuple[float, ...], size: tuple[int, int]) -> tuple[tuple[float, float], ...]:
    """Where a drag for ``box`` starts and ends, in image pixels: from the corner farthest from
    the image's edges, to the opposite one, carried past an edge it lies on."""
    x, y, w, h = box[:4]
    width, height = size
    xs = (x, x + w) if x >= width - (x + w) else (x + w, x)
    ys = (y, y + h) if y >= height - (y + h) else (y + h, y)

    def past(v: float, limit: int) -> float:
        return -OVERSHOOT if v <= 0 else limit + OVERSHOOT if v >= limit else v

    return (xs[0], ys[0]), (past(xs[1], width), past(ys[1], height))


def draw_all(url: str, sizes: dict[str, tuple[int, int]]) -> None:
    """Log in, then draw and submit every photo's boxes as the queue hands the photos out."""
    from live_server import ARGS, CHROMIUM
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # CSP off for this page only: wait_for_function evaluates a string (the browser tests
        # run with the CSP on)
        page = browser.new_page(viewport={"width": 1200, "height": 900}, bypass_csp=True)
        page.goto(f"{url}/projects/gold/annotate")
        page.fill("input[name=name]", "drawer")
        page.fill("input[name=password]", PASSWORD)
        page.keyboard.press("Enter")
        for _ in INTENDED:
            page.wait_for_selector("#box-stage.ready")
            name = page.text_content("#item-ref").removeprefix("item ").removesuffix(".png")
            for box in INTENDED[name]:
                page.keyboard.press("Escape")  # nothing selected: the key sets the next label
                page.keyboard.press(str(LABELS.index(box[4]) + 1))
                start, end = corners(box, sizes[name])
                page.mouse.move(*screen(page, *start))
                page.keyboard.down("Shift")  # a new box even inside another one
                page.mouse.down()
                page.mouse.move(*screen(page, *end), steps=10)
                page.mouse.up()
                page.keyboard.up("Shift")
            page.keyboard.press("Enter")
            page.wait_for_function(  # the next photo (or the end of the queue)
                "name => !document.getElementById('item-ref').textContent.includes(name)"
                " || !document.getElementById('done').hidden",
                arg=name,
            )
        browser.close()


def screen(page: Any, x: float, y: float) -> tuple[float, float]:
    """The screen point of image pixel ``(x, y)`` on the canvas as it is shown now."""
    r = page.locator("#box-image").bounding_box()
    w, h = page.eval_on_selector("#box-image", "i => [i.naturalWidth, i.naturalHeight]")
    return r["x"] + x * r["width"] / w, r["y"] + y * r["height"] / h


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests" / "server"))
    from live_server import LiveServer
    from sqlalchemy import select

    import labelloop
    from labelloop.server import ServerSettings, create_app
    from labelloop.services import users
    from labelloop.services.quality import review
    from labelloop.store import Item

    with tempfile.TemporaryDirectory() as tmp:
        ws = labelloop.open_workspace(Path(tmp) / "ws")
        folder = ws.media_root / "gold"
        folder.mkdir(parents=True)
        sizes = {}
        for name in INTENDED:
            image = photo(name)
            image.save(folder / f"{name}.png")
            sizes[name] = image.size
        ws.create_project("gold", labels=LABELS, task="image-boxes")
        ws.import_file("gold", folder)
        users.add_user(ws, "drawer", password=PASSWORD, role="annotator", project="gold")
        app = create_app(ws, ServerSettings(background_retrain=False))
        with LiveServer(app) as url:
            draw_all(url, sizes)
        with ws.transaction() as session:
            ids = dict(session.execute(select(Item.external_id, Item.id)).all())
        images = []
        worst = 0.0
        for external, item_id in sorted(ids.items()):
            name = Path(external).stem
            stored = next(a.value for a in review.item_detail(ws, "gold", item_id).answers)
            for got, want in zip(stored, INTENDED[name], strict=True):
                off = max(abs(got[k] - want[i]) for i, k in enumerate("xywh"))
                worst = max(worst, off)
                print(f"{name:10s} {got['label']:10s} {[got[k] for k in 'xywh']}  off {off:.2f} px")
            images.append({"name": name, "boxes": stored})
        ws.close()
    spec = {
        "labels": LABELS,
        "drawn_with": "labelloop's box canvas in Chromium (benchmarks/draw_gold_boxes.py)",
        "images": sorted(images, key=lambda e: e["name"]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    print(
        f"{len(images)} photos, {sum(len(e['boxes']) for e in images)} boxes -> {args.out}; "
        f"farthest stored box edge from the intended one: {worst:.2f} px"
    )


if __name__ == "__main__":
    main()
