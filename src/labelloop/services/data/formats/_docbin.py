"""spaCy ``DocBin`` files (``.spacy``, what ``spacy train`` reads): one ``Doc`` per item.

A labelled item's spans are its ``doc.ents`` (every other token explicitly outside an entity);
an unlabelled item's doc has no entity annotation at all (``doc.has_annotation("ENT_IOB")`` is
false), so the two stay apart. ``doc.text`` is the item's text exactly; ``doc.user_data``
keeps the item's ids and its label's provenance.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from labelloop.errors import InvalidInput, MissingDependency
from labelloop.services.data.formats._atomic import atomic_file
from labelloop.services.data.formats._common import (
    IdTracker,
    ReadOptions,
    annotation_from_provenance,
    check_text,
)
from labelloop.services.data.formats._rows import ExportContext, provenance
from labelloop.services.data.formats.records import (
    ExportRecord,
    ImportedAnnotation,
    ImportRecord,
)
from labelloop.tasks.spans import token_offsets

__all__ = ["read_docbin", "write_docbin"]

#: The ``doc.user_data`` key holding what labelloop keeps of an item.
USER_DATA_KEY = "labelloop"


def _spacy() -> Any:
    try:
        import spacy
    except ImportError:
        raise MissingDependency("spaCy (for .spacy DocBin files)", extra="spans") from None
    return spacy


def _doc(vocab: Any, rec: ExportRecord) -> Any:
    """The item as a ``Doc`` whose text is the item's text, one token per item token (the
    whitespace between them as spaCy keeps it: one trailing space, or whitespace tokens)."""
    from spacy.tokens import Doc

    text = str(rec.data.get("text", ""))
    offsets = token_offsets(rec.data)
    words: list[str] = []
    spaces: list[bool] = []

    def gap(chunk: str) -> None:
        if chunk:
            words.append(chunk)
            spaces.append(False)

    gap(text[: offsets[0][0]] if offsets else text)
    for i, (start, end) in enumerate(offsets):
        words.append(text[start:end])
        after = text[end : offsets[i + 1][0]] if i + 1 < len(offsets) else text[end:]
        spaces.append(after.startswith(" "))
        gap(after[1:] if after.startswith(" ") else after)
    doc = Doc(vocab, words=words, spaces=spaces)
    if rec.label is not None:
        ents = []
        for span in rec.label:
            ent = doc.char_span(int(span["start"]), int(span["end"]), label=str(span["label"]))
            if ent is None:  # stored spans are token-snapped: this would be a corrupt record
                raise InvalidInput(
                    f"item {rec.item_id}: span {span} does not fall on token boundaries",
                    field="label",
                )
            ents.append(ent)
        try:
            doc.set_ents(ents, default="outside")
        except ValueError as exc:  # overlapping spans: doc.ents cannot hold them
            raise InvalidInput(
                f"item {rec.item_id}: overlapping spans cannot be spaCy entities ({exc}); "
                "export as jsonl or labelstudio",
                field="label",
            ) from None
    return doc


def _user_data(rec: ExportRecord) -> dict[str, Any]:
    return {
        USER_DATA_KEY: {
            "id": rec.external_id,
            "item_id": rec.item_id,
            "content_hash": rec.content_hash,
            "provenance": provenance(rec),
        }
    }


def write_docbin(records: Iterator[ExportRecord], out: Path, ctx: ExportContext) -> int:
    """Write every item as a ``Doc`` in one ``DocBin`` (held in memory until written: about
    the size of the file)."""
    spacy = _spacy()
    from spacy.tokens import DocBin
    from srsly import msgpack

    vocab = spacy.vocab.Vocab()
    docbin = DocBin(store_user_data=False)
    # DocBin.add would pack each doc's user_data with srsly.msgpack_dumps, which looks its
    # encoders up among the installed packages' entry points on every call (0.6 ms, 20 times
    # the rest of a sentence's cost): the same bytes come from one plain packer.
    packer = msgpack.Packer(use_bin_type=True)
    user_data = []
    n = 0
    for rec in records:
        docbin.add(_doc(vocab, rec))
        user_data.append(packer.pack(_user_data(rec)))
        n += 1
    docbin.store_user_data = True
    docbin.user_data = user_data
    with atomic_file(out) as tmp:
        tmp.write_bytes(docbin.to_bytes())
    return n


def read_docbin(path: Path, opts: ReadOptions) -> Iterator[ImportRecord]:
    """Yield one record per ``Doc``; ``line`` is the doc's number (1-based).

    A doc with entity annotation (``doc.has_annotation("ENT_IOB")``) is a labelled item whose
    spans are its ``doc.ents``; its tokens are kept as ``data["tokens"]``. The external id and
    the provenance come from ``doc.user_data`` when labelloop wrote the file.
    """
    if opts.schema is not None and not opts.spans:
        raise opts.error(
            f"a .spacy file holds spans (named entities); this project's task is "
            f"{opts.schema.task}, import it into a spans project"
        )
    spacy = _spacy()
    from spacy.tokens import DocBin

    try:
        docbin = DocBin().from_bytes(path.read_bytes())
    except (ValueError, KeyError, TypeError) as exc:  # zlib/msgpack errors are ValueErrors
        raise opts.error(f"not a readable spaCy DocBin file: {exc}") from None
    ids = IdTracker()
    n = 0
    for n, doc in enumerate(docbin.get_docs(spacy.vocab.Vocab()), start=1):
        yield _record(doc, n, opts, ids)
    if n == 0:
        raise opts.error("file holds no docs")


def _record(doc: Any, index: int, opts: ReadOptions, ids: IdTracker) -> ImportRecord:
    text = check_text(doc.text, opts, index)
    saved = doc.user_data.get(USER_DATA_KEY)
    saved = saved if isinstance(saved, Mapping) else {}
    external_id = None
    if saved.get("id") is not None:
        external_id = ids.check(saved["id"], opts, index, "user_data.id")
    tokens = [t.text for t in doc if not t.text.isspace()]  # whitespace tokens hold no word
    data: dict[str, Any] = {"text": text, "tokens": tokens}
    annotations: tuple[ImportedAnnotation, ...] = ()
    if doc.has_annotation("ENT_IOB"):
        spans = tuple(
            {"start": e.start_char, "end": e.end_char, "label": e.label_} for e in doc.ents
        )
        prov = saved.get("provenance")
        if isinstance(prov, Mapping):
            annotations = (annotation_from_provenance(spans, prov, opts, index),)
        else:
            annotations = (ImportedAnnotation(value=spans, annotator=opts.annotator),)
    return ImportRecord(index, external_id, data, annotations)
