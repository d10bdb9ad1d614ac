"""Mapping a pre-trained detector's class names onto a project's labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from labelloop.errors import InvalidInput

__all__ = ["map_detector_labels"]


def map_detector_labels(
    detector_classes: Sequence[str],
    project_labels: Sequence[str],
    mapping: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Which project label each detector class becomes; classes left out are dropped.

    A detector class maps to the project label of the same name, compared without regard to
    case or surrounding spaces ("person" takes the detector's "Person"). ``mapping`` adds or
    overrides pairs (detector class -> project label), e.g. ``{"Mug": "cup", "Coffee cup":
    "cup"}``; several classes may map to one label. Its names are matched case-insensitively
    too, but must exist.

    Returns:
        ``{detector class: project label}`` for every class that maps.

    Raises:
        InvalidInput: ``mapping`` names a class the detector lacks or a label the project lacks.

    Example:
        >>> map_detector_labels(["Person", "Cat", "Mug"], ["person", "cup"], {"mug": "cup"})
        {'Person': 'person', 'Mug': 'cup'}
    """
    by_label = {_key(label): label for label in project_labels}
    by_class = {_key(name): name for name in detector_classes}
    out = {name: by_label[_key(name)] for name in detector_classes if _key(name) in by_label}
    for source, target in (mapping or {}).items():
        if _key(source) not in by_class:
            raise InvalidInput(
                f"{source!r} is not one of the detector's classes ({', '.join(detector_classes)})",
                field="mapping",
            )
        if _key(target) not in by_label:
            raise InvalidInput(
                f"{source!r} maps to {target!r}, which is not one of the project's labels "
                f"({', '.join(project_labels)})",
                field="mapping",
            )
        out[by_class[_key(source)]] = by_label[_key(target)]
    return out


def _key(name: str) -> str:
    return name.strip().casefold()
