"""CoNLL named-entity files: one token per line, its IOB tag in the last column.

Sentences are separated by blank lines and ``-DOCSTART-`` lines are skipped. On import a
sentence's tokens become ``data["tokens"]`` and its text is the tokens joined by single spaces, so
every token's character offsets are exact; IOB1 tags (an entity may start with ``I-``) read as
well as IOB2. Export writes IOB2, ``token TAG`` per line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from labelloop.errors import InvalidInput
from labelloop.services.data.formats._atomic import atomic_file
from labelloop.services.data.formats._common import ReadOptions, check_size
from labelloop.services.data.formats._rows import ExportContext
from labelloop.services.data.formats._spans import tokens_and_tags
from labelloop.services.data.formats.records import (
    ExportRecord,
    ImportedAnnotation,
    ImportRecord,
)
from labelloop.tasks.spans import from_bio

__all__ = ["read_conll", "write_conll"]

DOCSTART = "-DOCSTART-"


class _Sentence:
    """The tokens and tags of the sentence being read, and the line it started on."""

    def __init__(self, line: int) -> None:
        self.line = line
        self.tokens: list[str] = []
        self.tags: list[str] = []


def read_conll(path: Path, opts: ReadOptions) -> Iterator[ImportRecord]:
    """Yield one record per sentence; ``line`` is the line of its first token.

    A file whose lines hold a token only (one column) imports its sentences unlabelled; with two
    or more columns the last is the tag and every sentence is imported labelled (all ``O``: no
    entity). Other columns (part of speech, chunks) are not kept.

    Raises:
        InvalidInput: A project that is not a spans project, a line that is not UTF-8, a tag that
            is not ``O``/``B-x``/``I-x`` or names a label the project does not have, lines with
            and without tags in one file, or a file without sentences; the message names the
            line.
    """
    if opts.schema is not None and not opts.spans:
        raise opts.error(
            f"a CoNLL file holds spans (named entities); this project's task is "
            f"{opts.schema.task}, import CoNLL files into a spans project"
        )
    labels = None if opts.schema is None else opts.schema.labels
    tagged: bool | None = None
    sentence: _Sentence | None = None
    n = 0
    with path.open("rb") as stream:
        for line_no, raw in enumerate(stream, start=1):
            text = _decode(raw, line_no, opts)
            fields = text.split()
            if not fields or fields[0] == DOCSTART:
                if sentence is not None:
                    n += 1
                    yield _record(sentence, tagged, opts)
                sentence = None
                continue
            has_tag = len(fields) > 1
            if tagged is None:
                tagged = has_tag
            elif has_tag != tagged:
                first = "a token and its tag" if tagged else "a token only"
                raise opts.error(
                    f"this line has {len(fields)} column(s) where the file's first token line "
                    f"has {first}: every token line needs its tag in the last column",
                    line=line_no,
                )
            if sentence is None:
                sentence = _Sentence(line_no)
            sentence.tokens.append(fields[0])
            if has_tag:
                sentence.tags.append(_checked_tag(fields[-1], labels, opts, line_no))
    if sentence is not None:
        n += 1
        yield _record(sentence, tagged, opts)
    if n == 0:
        raise opts.error("file holds no sentences (one token per line, blank line between)")


def _decode(raw: bytes, line_no: int, opts: ReadOptions) -> str:
    if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise opts.error(
            f"line is not valid UTF-8 (byte 0x{raw[exc.start]:02x} cannot be decoded);"
            " save the file as UTF-8 and import again",
            line=line_no,
        ) from None


def _checked_tag(tag: str, labels: tuple[str, ...] | None, opts: ReadOptions, line: int) -> str:
    if tag == "O":
        return tag
    prefix, _, label = tag.partition("-")
    if prefix not in ("B", "I") or not label:
        raise opts.error(
            f"tag {tag!r} is not O, B-<label> or I-<label> (IOB2 or IOB1)", line=line, field="tag"
        )
    if labels is not None and label not in labels:
        raise opts.error(
            f"tag {tag!r}: unknown label {label!r}; the project's labels are {', '.join(labels)}",
            line=line,
            field="tag",
        )
    return tag


def _record(sentence: _Sentence, tagged: bool | None, opts: ReadOptions) -> ImportRecord:
    text = " ".join(sentence.tokens)
    check_size(text, opts, sentence.line, "text")
    offsets = []
    at = 0
    for token in sentence.tokens:
        offsets.append((at, at + len(token)))
        at += len(token) + 1
    data = {"text": text, "tokens": list(sentence.tokens)}
    annotations: tuple[ImportedAnnotation, ...] = ()
    if tagged:
        spans = from_bio(offsets, sentence.tags)  # an I-x that starts an entity (IOB1) starts one
        annotations = (ImportedAnnotation(value=tuple(spans), annotator=opts.annotator),)
    return ImportRecord(sentence.line, None, data, annotations)


def write_conll(records: Iterator[ExportRecord], out: Path, ctx: ExportContext) -> int:
    """Write the labelled items as IOB2 ``token TAG`` lines, a blank line after each sentence.

    CoNLL cannot say "not labelled yet", so unlabelled items are left out; the count returned is
    the number of sentences written.

    Raises:
        InvalidInput: A token holds whitespace (it would read back as two columns), or two spans
            of an item overlap (IOB2 cannot say that).
    """
    n = 0
    with atomic_file(out) as tmp, tmp.open("w", encoding="utf-8", newline="\n") as f:
        for rec in records:
            tokens, tags = tokens_and_tags(rec)
            if tags is None:
                continue
            for i, token in enumerate(tokens):
                if token == DOCSTART or any(c.isspace() for c in token):
                    raise InvalidInput(
                        f"item {rec.item_id}: token {i} ({token!r}) cannot be a CoNLL token "
                        "(whitespace, or the -DOCSTART- marker); export as jsonl or spacy",
                        field="tokens",
                    )
            f.writelines(f"{token} {tag}\n" for token, tag in zip(tokens, tags, strict=True))
            f.write("\n")
            n += 1
    return n
