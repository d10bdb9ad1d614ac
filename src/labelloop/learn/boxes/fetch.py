"""Install-time fetch of the pre-trained detector's files (run by ``make install``).

MediaPipe's SSD-MobileNetV2 (OpenImages v4, 24 classes) ships inside the npm package
``@mediapipe/objectron`` as one packed asset file. This module downloads that package's tarball
from the npm registry with :mod:`urllib` (npm itself need not exist), checks its pinned SHA-256,
and writes the tflite model and its label map into a models folder. Nothing ever downloads at run
time: :func:`labelloop.learn.boxes.load_detector` only reads what this wrote.

Usage::

    python -m labelloop.learn.boxes.fetch            # into <sys.prefix>/share/labelloop/detectors
    python -m labelloop.learn.boxes.fetch --dest DIR # or a folder of your choice
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

__all__ = ["DETECTOR_FOLDER", "fetch_mediapipe_ssd", "main"]

DETECTOR_FOLDER = "mediapipe-ssd"
TFLITE_NAME = "ssd_mobilenetv2_oidv4_fp16.tflite"
LABELMAP_NAME = "labelmap.txt"

_TARBALL_URL = "https://registry.npmjs.org/@mediapipe/objectron/-/objectron-0.4.1675468480.tgz"
_TARBALL_SHA256 = "fc3e37b326b05e8f596099c90b3e0931b05a56cd3160b9ac450b621794bac94c"
_PACKED_MEMBER = "package/objectron_solution_packed_assets.data"
# byte ranges of the packed file, from objectron_solution_packed_assets_loader.js
_LABELMAP_RANGE = (0, 184)
_TFLITE_RANGE = (184, 9987912)
# the same file MediaPipe's own build pins (third_party/external_files.bzl)
_TFLITE_SHA256 = "d0a5255bf8c4f5a0bc4240741a76c41d5e939f7655078f945f50ab53a9375da6"


def default_models_dir() -> Path:
    """Where detector files live unless ``$LABELLOOP_MODELS_DIR`` says otherwise."""
    env = os.environ.get("LABELLOOP_MODELS_DIR")
    if env:
        return Path(env)
    return Path(sys.prefix) / "share" / "labelloop" / "detectors"


def fetch_mediapipe_ssd(dest: Path, *, url: str = _TARBALL_URL) -> Path:
    """Download, verify and unpack the SSD detector into ``dest/mediapipe-ssd/``.

    Returns the folder. Does nothing when the model there already has the pinned hash. Files
    are written under temporary names and renamed, so a killed run leaves no half file.

    Raises:
        RuntimeError: The download's hash differs from the pinned one.
    """
    folder = dest / DETECTOR_FOLDER
    tflite = folder / TFLITE_NAME
    if tflite.exists() and _sha256(tflite.read_bytes()) == _TFLITE_SHA256:
        return folder
    with urllib.request.urlopen(url, timeout=120) as response:
        tarball = response.read()
    if _sha256(tarball) != _TARBALL_SHA256:
        raise RuntimeError(f"{url}: SHA-256 {_sha256(tarball)} is not the pinned {_TARBALL_SHA256}")
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        member = tar.extractfile(_PACKED_MEMBER)
        if member is None:
            raise RuntimeError(f"{url}: {_PACKED_MEMBER} is missing from the tarball")
        packed = member.read()
    model = packed[slice(*_TFLITE_RANGE)]
    if _sha256(model) != _TFLITE_SHA256:
        raise RuntimeError(f"{url}: the sliced tflite does not have the pinned SHA-256")
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(folder / LABELMAP_NAME, packed[slice(*_LABELMAP_RANGE)])
    _write_atomic(tflite, model)
    return folder


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as f:
        f.write(data)
    os.chmod(f.name, 0o644)  # readable by every user of a shared install
    os.replace(f.name, path)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: fetch the detector into ``--dest`` (default: the models folder)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=None, help="models folder")
    args = parser.parse_args(argv)
    folder = fetch_mediapipe_ssd(args.dest or default_models_dir())
    sys.stderr.write(f"detector files in {folder}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
