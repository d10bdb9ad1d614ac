"""What the workspace offers, independent of any project: backbones and strategies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["BackboneEntry", "backbone_catalog", "backbones", "strategy_catalog"]


class BackboneEntry(BaseModel):
    """A registered backbone (``labelloop backbones list``)."""

    name: str
    modality: str = Field(description="text, image or audio")
    dim: int = Field(description="embedding dimension")
    installed: bool
    install: str = Field(description="how to install it: 'core' or a pip command")
    description: str
    speed: str = Field(default="", description="measured throughput note")


def backbones() -> list[BackboneEntry]:
    """Every registered backbone, whether it is installed, and how to install it."""
    from labelloop.backbones import list_backbones

    return [
        BackboneEntry(
            name=info.name,
            modality=info.modality.value,
            dim=info.dim,
            installed=info.installed,
            install=f"pip install 'labelloop[{info.extra}]'" if info.extra else "core",
            description=info.description,
            speed=info.speed,
        )
        for info in list_backbones()
    ]


def backbone_catalog() -> list[dict[str, Any]]:
    """:func:`backbones` as plain dicts (the CLI's ``--json`` rows)."""
    return [entry.model_dump() for entry in backbones()]


def strategy_catalog() -> list[str]:
    from labelloop.active import list_strategies

    return list(list_strategies())
