"""What the workspace offers, independent of any project: backbones and strategies."""

from __future__ import annotations

from typing import Any

__all__ = ["backbone_catalog", "strategy_catalog"]


def backbone_catalog() -> list[dict[str, Any]]:
    """Every registered backbone, whether it is installed, and how to install it."""
    from labelloop.backbones import list_backbones

    rows = []
    for info in list_backbones():
        rows.append(
            {
                "name": info.name,
                "modality": info.modality.value,
                "dim": info.dim,
                "installed": info.installed,
                "install": f"pip install 'labelloop[{info.extra}]'" if info.extra else "core",
                "description": info.description,
                "speed": info.speed,
            }
        )
    return rows


def strategy_catalog() -> list[str]:
    from labelloop.active import list_strategies

    return list(list_strategies())
