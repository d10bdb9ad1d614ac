"""Which project label a pre-trained model's entity type suggests.

spaCy's ``en_core_web_sm`` predicts the 18 OntoNotes types. A project names its own labels (CoNLL's
PER, LOC, ORG, MISC; or DRUG, DOSE...). The default mapping matches by name and meaning: a type maps
to the label of the same name, else to a label that is a known synonym (PERSON -> PER, GPE -> LOC),
else a named-thing type (NORP, EVENT, ...) maps to a catch-all label (MISC, OTHER) when the project
has one. Types that map to nothing are dropped. A project edits the mapping through its schema's
``type_map``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["ONTONOTES_TYPES", "aliases", "default_type_map"]

#: The OntoNotes 5 entity types, most frequent first (in OntoNotes' training data).
ONTONOTES_TYPES = (
    "ORG",
    "GPE",
    "PERSON",
    "DATE",
    "CARDINAL",
    "NORP",
    "MONEY",
    "PERCENT",
    "ORDINAL",
    "LOC",
    "TIME",
    "WORK_OF_ART",
    "FAC",
    "EVENT",
    "QUANTITY",
    "PRODUCT",
    "LANGUAGE",
    "LAW",
)

# project label names (upper-cased) that mean each type
_SYNONYMS = {
    "PERSON": {"PER", "PERS", "PEOPLE", "NAME", "PERSON_NAME"},
    "GPE": {"LOC", "LOCATION", "PLACE", "COUNTRY", "CITY", "GEO"},
    "LOC": {"LOCATION", "PLACE", "GEO"},
    "FAC": {"LOC", "LOCATION", "FACILITY", "BUILDING"},
    "ORG": {"ORGANIZATION", "ORGANISATION", "COMPANY", "CORP", "INSTITUTION"},
    "NORP": {"NATIONALITY", "GROUP"},
    "WORK_OF_ART": {"WORK", "TITLE", "ART"},
    "DATE": {"TIME", "DATETIME"},
    "TIME": {"DATETIME"},
    "MONEY": {"PRICE", "AMOUNT", "CURRENCY"},
    "PERCENT": {"PERCENTAGE"},
    "CARDINAL": {"NUMBER", "NUM"},
    "QUANTITY": {"MEASURE", "MEASUREMENT"},
}
# named things without their own label fall to a catch-all label; numbers and dates never do
_NAMED = {"NORP", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE", "PRODUCT", "FAC"}
_CATCH_ALL = ("MISC", "MISCELLANEOUS", "OTHER", "ENTITY")


def default_type_map(
    labels: Sequence[str], overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Each pre-trained type's project label; types that map to nothing are left out.

    Args:
        labels: The project's labels.
        overrides: Type -> label choices that win over the defaults (``""`` drops a type).

    Example:
        >>> default_type_map(["PER", "LOC", "ORG", "MISC"])["GPE"], default_type_map(["PER"])
        ('LOC', {'PERSON': 'PER'})
    """
    by_upper = {label.upper(): label for label in labels}
    catch_all = next((by_upper[name] for name in _CATCH_ALL if name in by_upper), None)
    out: dict[str, str] = {}
    for kind in ONTONOTES_TYPES:
        label = by_upper.get(kind)
        if label is None:
            synonyms = sorted(_SYNONYMS.get(kind, ()))
            label = next((by_upper[s] for s in synonyms if s in by_upper), None)
        if label is None and kind in _NAMED:
            label = catch_all
        if label is not None:
            out[kind] = label
    for kind, label in (overrides or {}).items():
        if label:
            out[kind] = label
        else:
            out.pop(kind, None)
    return out


def aliases(labels: Sequence[str], type_map: Mapping[str, str]) -> dict[str, str]:
    """Each project label's stand-in pre-trained type: the most frequent type mapped onto it.

    Fine-tuning teaches the pre-trained recogniser a label under its stand-in's name, so it
    starts from what the model already knows about that type (PER learns as PERSON). Labels no
    type maps onto have no stand-in and are learnt as new labels.

    Example:
        >>> aliases(["PER", "LOC", "DRUG"], default_type_map(["PER", "LOC", "DRUG"]))
        {'PER': 'PERSON', 'LOC': 'GPE'}
    """
    out: dict[str, str] = {}
    for kind in ONTONOTES_TYPES:
        label = type_map.get(kind)
        if label is not None and label in labels and label not in out:
            out[label] = kind
    return {label: out[label] for label in labels if label in out}
