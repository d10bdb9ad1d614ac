"""Files beside the database: model files and embedding caches, written atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["Artifacts"]


class Artifacts:
    """The ``<workspace>/artifacts`` folder.

    Layout: ``embeddings/<backbone>/`` (the embedding cache), ``models/<project_id>/v<N>/``
    (model files of each model version), ``thumbnails/<size>/`` (image previews keyed by
    content hash, shared like the embedding cache), ``exports/`` (scratch space).
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def embeddings(self) -> Path:
        return self.root / "embeddings"

    @property
    def thumbnails(self) -> Path:
        return self.root / "thumbnails"

    def clusters(self, project_id: int) -> Path:
        """The saved k-means clusterings of one project (services/annotation/clusters.py)."""
        return self.root / "clusters" / str(project_id)

    def model_dir(self, project_id: int, version: int) -> Path:
        return self.root / "models" / str(project_id) / f"v{version}"

    def project_dirs(self, project_id: int) -> list[Path]:
        """Every folder that holds files of one project only: its model versions
        (``models/<id>``), its label-issue reports (``qa/<id>``, services/quality/issues.py)
        and its saved clusterings (``clusters/<id>``).
        The embedding cache is keyed by content, shared by every project, and is not one."""
        return [self.root / name / str(project_id) for name in ("models", "qa", "clusters")]

    def write_dir_atomically(self, target: Path, fill: Callable[[Path], None]) -> Path:
        """Create ``target`` by filling a temporary sibling folder, then renaming it into place.

        A process killed mid-way leaves at most a ``.tmp-*`` folder, never a half-written target.
        """
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
        try:
            fill(tmp)
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target
