"""Classification: an answer is one label (or, in a multi-label project, a set of labels).

One class serves text, image and audio classification; only the modality differs, and with it what
the encoder reads and the media tag of the Label Studio config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np

from labelloop.errors import InvalidInput
from labelloop.schema import LabelSchema, Modality, TaskType, normalize_label
from labelloop.tasks._base import AnswerShape, Decoded, TaskTags, Where
from labelloop.tasks._hashing import content_hash

__all__ = ["LS_FROM_NAME", "MULTI_LABEL_STRATEGY", "ClassificationTask"]

#: ``name`` of the ``<Choices>`` control that Label Studio results refer to.
LS_FROM_NAME = "label"
#: Strategies over single-label probabilities, and their counterpart for independent per-label ones.
MULTI_LABEL_STRATEGY = {
    "margin": "multilabel_uncertainty",
    "least_confidence": "multilabel_uncertainty",
    "hybrid": "multilabel_uncertainty",
    "entropy": "multilabel_entropy",
}
_NAMES = {
    Modality.TEXT: TaskType.TEXT_CLASSIFICATION,
    Modality.IMAGE: TaskType.IMAGE_CLASSIFICATION,
    Modality.AUDIO: TaskType.AUDIO_CLASSIFICATION,
}
_LS_MEDIA_TAGS = {Modality.TEXT: "Text", Modality.IMAGE: "Image", Modality.AUDIO: "Audio"}
_THRESHOLD = 0.5  # a multi-label label is predicted at p >= 0.5


class ClassificationTask:
    """Text, image or audio classification, single- or multi-label.

    Training targets are ``(n,)`` int64 label ids for a single-label schema and an ``(n, k)``
    int64 multi-hot matrix for a multi-label one; ``pred_probs`` rows are a distribution over the
    ``k`` labels (single-label) or ``k`` independent probabilities (multi-label).

    Example:
        >>> from labelloop.schema import LabelSchema
        >>> task = ClassificationTask(Modality.TEXT)
        >>> schema = LabelSchema(task="text-classification", labels=["World", "Sports"])
        >>> task.check_answer(schema, "Sports")
        ['Sports']
        >>> task.decode(schema, np.array([[0.2, 0.8]])).values
        [['Sports']]
    """

    widget = "choices"

    def __init__(self, modality: Modality) -> None:
        self.modality = Modality(modality)
        self.name = str(_NAMES[self.modality])
        self.tags = TaskTags(modality=self.modality, answer=AnswerShape.CHOICES)

    def __repr__(self) -> str:
        return f"ClassificationTask({self.modality.value!r})"

    # -- answers ---------------------------------------------------------------------------------

    def check_answer(
        self,
        schema: LabelSchema,
        value: str | Sequence[str],
        *,
        where: Where | None = None,
        data: Mapping[str, Any] | None = None,
        media_root: Path | None = None,
    ) -> list[str]:
        """Validate an answer and return its labels in schema order.

        Args:
            schema: The project's labels.
            value: One label name, or a sequence of them (in any order).
            where: Where the answer came from. With a ``file`` (an import), messages use the
                importer's wording and carry ``file``/``line``/``field``.
            data: The item's data (unused: a label does not point into the item).
            media_root: Unused, as ``data``.

        An empty answer (``[]``) on a multi-label project is an answer: no label applies
        (unlike a skip, it is a label, with a training target of all zeros).

        Raises:
            InvalidInput: No label on a single-label project, a label given twice, several
                labels on a single-label project, or a label the schema does not have.
        """
        # the schema holds its labels in NFC: an answer typed in another form names the same
        names = [normalize_label(str(v)) for v in ([value] if isinstance(value, str) else value)]
        where = where or Where()
        imported = where.file is not None

        def refuse(message: str) -> InvalidInput:
            return InvalidInput(message, file=where.file, line=where.line, field=where.field)

        if not names:
            if schema.multi_label:
                return []  # none of the labels applies
            if imported:
                raise refuse("empty label ([], no label applies, is for multi-label projects)")
            raise refuse("no label given")
        if len(names) > 1 and not schema.multi_label:
            if imported:
                given = ", ".join(names)
                raise refuse(f"{len(names)} labels given ({given}) but the project is single-label")
            raise refuse("the project is single-label: give exactly one label")
        if len(set(names)) != len(names):
            raise refuse("a label is given twice")
        for label in names:
            if label not in schema.labels:
                raise refuse(
                    f"unknown label {label!r}; the project's labels are {', '.join(schema.labels)}"
                )
        # a stable order, whatever order the labels were clicked in
        return sorted(names, key=schema.labels.index)

    def agree(self, schema: LabelSchema, a: Sequence[str] | None, b: Sequence[str] | None) -> bool:
        """Whether two answers name the same labels; a skip (``None``) agrees with nothing."""
        if a is None or b is None:
            return False
        return set(a) == set(b)

    # -- learning --------------------------------------------------------------------------------

    def targets(self, schema: LabelSchema, values: Sequence[Sequence[str]]) -> np.ndarray:
        """Training targets of checked answers.

        Returns:
            ``(n,)`` int64 label ids (single-label), or an ``(n, k)`` int64 multi-hot matrix
            (multi-label).

        Raises:
            InvalidInput: An answer names an unknown label, or a single-label answer does not
                hold exactly one label.
        """
        index = {label: i for i, label in enumerate(schema.labels)}
        try:
            if schema.multi_label:
                out = np.zeros((len(values), schema.n_labels), dtype=np.int64)
                for r, value in enumerate(values):
                    out[r, [index[v] for v in value]] = 1
                return out
            if any(len(value) != 1 for value in values):
                raise InvalidInput("a single-label answer holds exactly one label", field="value")
            return np.array([index[value[0]] for value in values], dtype=np.int64)
        except KeyError as exc:
            raise InvalidInput(
                f"unknown label {exc.args[0]!r}; the project's labels are "
                f"{', '.join(schema.labels)}",
                field="value",
            ) from None

    def values_from_targets(self, schema: LabelSchema, targets: np.ndarray) -> list[list[str]]:
        """The answers that :meth:`targets` encodes: its inverse on checked answers.

        Raises:
            InvalidInput: ``targets`` does not have the shape or value range :meth:`targets` gives.
        """
        targets = np.asarray(targets)
        labels = schema.labels
        if schema.multi_label:
            if targets.ndim != 2 or targets.shape[1] != schema.n_labels:
                raise InvalidInput(
                    f"multi-label targets must be (n, {schema.n_labels}), got {targets.shape}"
                )
            return [[labels[j] for j in np.flatnonzero(row)] for row in targets]
        if targets.ndim != 1:
            raise InvalidInput(f"single-label targets must be (n,), got {targets.shape}")
        if targets.size and (targets.min() < 0 or targets.max() >= schema.n_labels):
            raise InvalidInput(f"label ids must lie in [0, {schema.n_labels})")
        return [[labels[int(i)]] for i in targets]

    def decode(self, schema: LabelSchema, pred_probs: np.ndarray) -> Decoded:
        """The model's answers: the most likely label, or every label with ``p >= 0.5``.

        Confidence is the top probability (single-label), or ``2 * min_j |p_j - 0.5|``, the
        certainty of the most borderline label decision (multi-label).

        Args:
            schema: The project's labels.
            pred_probs: ``(n, k)`` model outputs, ``k = schema.n_labels``; ``n`` may be 0.
        """
        pred_probs = _check_pred_probs(schema, pred_probs)
        labels = schema.labels
        if len(pred_probs) == 0:
            return Decoded(values=[], confidence=np.zeros(0, dtype=np.float64))
        if schema.multi_label:
            values = [[labels[j] for j in np.flatnonzero(row >= _THRESHOLD)] for row in pred_probs]
            confidence = np.abs(pred_probs - _THRESHOLD).min(axis=1) * 2
        else:
            values = [[labels[j]] for j in pred_probs.argmax(axis=1)]
            confidence = pred_probs.max(axis=1)
        return Decoded(values=values, confidence=np.asarray(confidence, dtype=np.float64))

    def uncertainty(self, schema: LabelSchema, pred_probs: np.ndarray) -> np.ndarray:
        """Margin uncertainty (single-label) or multi-label uncertainty: ``(n,)`` in ``[0, 1]``."""
        from labelloop.active import margin, multilabel_uncertainty

        pred_probs = _check_pred_probs(schema, pred_probs)
        if len(pred_probs) == 0:
            return np.zeros(0, dtype=np.float64)
        base = multilabel_uncertainty(pred_probs) if schema.multi_label else margin(pred_probs)
        return np.asarray(base, dtype=np.float64)

    def strategy_name(self, schema: LabelSchema, name: str) -> str:
        """``name``, or its multi-label counterpart (``margin`` -> ``multilabel_uncertainty``)."""
        if schema.multi_label:
            return MULTI_LABEL_STRATEGY.get(name, name)
        return name

    # -- items -----------------------------------------------------------------------------------

    def encoder_input(self, data: Mapping[str, Any], *, media_root: Path | None = None) -> Any:
        """The item's text (text tasks), or the path of its media file as a ``str``.

        A relative media path is resolved against ``media_root`` when one is given.

        Raises:
            InvalidInput: ``data`` lacks the ``text`` (or ``path``) key this modality reads.
        """
        if self.modality is Modality.TEXT:
            if "text" not in data:
                raise InvalidInput(
                    f"a {self.name} item needs a 'text' field; it has {_keys(data)}", field="data"
                )
            return str(data["text"])
        if "path" not in data:
            raise InvalidInput(
                f"a {self.name} item needs a 'path' to its {self.modality.value} file; "
                f"it has {_keys(data)}",
                field="data",
            )
        path = Path(data["path"])
        if media_root is not None and not path.is_absolute():
            path = media_root / path
        return str(path)

    def content_hash(self, data: Mapping[str, Any], *, media_root: Path | None = None) -> str:
        """sha256 of the NFC-normalised stripped text, or of the media file's bytes.

        Raises:
            OSError: The media file cannot be read.
        """
        return content_hash(data, root=media_root)

    # -- formats ---------------------------------------------------------------------------------

    def label_studio_config(self, schema: LabelSchema, *, data_key: str = "text") -> str:
        """The Label Studio labelling config: the media tag and a ``<Choices>`` control.

        ``data_key`` names the task data key of the text; image and audio tasks use ``image`` and
        ``audio``.

        Example:
            >>> s = LabelSchema(task="text-classification", labels=["A", "B"])
            >>> ClassificationTask(Modality.TEXT).label_studio_config(s)[:40]
            '<View><Text name="text" value="$text"/><'
        """
        key = data_key if self.modality is Modality.TEXT else self.modality.value
        tag = _LS_MEDIA_TAGS[self.modality]
        choices = "".join(f"<Choice value={quoteattr(n)}/>" for n in schema.labels)
        mode = "multiple" if schema.multi_label else "single"
        return (
            f'<View><{tag} name="{key}" value="${key}"/>'
            f'<Choices name="{LS_FROM_NAME}" toName="{key}" choice="{mode}">{choices}</Choices>'
            "</View>"
        )

    def label_studio_result(
        self,
        schema: LabelSchema,
        value: Sequence[str],
        *,
        to_name: str,
        text: str | None = None,
    ) -> list[dict[str, Any]]:
        """One ``choices`` region naming the answer's labels."""
        return [
            {
                "from_name": LS_FROM_NAME,
                "to_name": to_name,
                "type": "choices",
                "value": {"choices": list(value)},
            }
        ]

    def value_from_label_studio(
        self,
        schema: LabelSchema,
        result: Sequence[Mapping[str, Any]],
        *,
        where: Where | None = None,
    ) -> list[str] | None:
        """Every label of the ``choices`` regions, in order and once each.

        Other regions are ignored; ``None`` when there is no ``choices`` region. The labels are
        not checked against the schema here: :meth:`check_answer` does that.

        Raises:
            InvalidInput: ``result`` is not a list, or a region's choices are not strings.
        """
        where = where or Where(field="result")
        if not isinstance(result, list | tuple):
            raise InvalidInput(
                "'result' must be a list", file=where.file, line=where.line, field=where.field
            )
        names: list[str] = []
        found = False
        for region in result:
            if not isinstance(region, Mapping) or region.get("type") != "choices":
                continue
            choices = (region.get("value") or {}).get("choices")
            if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
                raise InvalidInput(
                    "choices must be a list of strings",
                    file=where.file,
                    line=where.line,
                    field=where.field,
                )
            found = True
            names.extend(c for c in choices if c not in names)
        return names if found else None

    def hf_feature(self, schema: LabelSchema, datasets: Any) -> Any:
        """``ClassLabel(names=labels)``, or a list of them for a multi-label schema.

        ``datasets`` is the imported Hugging Face ``datasets`` module (the caller imports it, so
        this package never does).
        """
        label = datasets.ClassLabel(names=list(schema.labels))
        if not schema.multi_label:
            return label
        # ``List`` is the datasets>=4 name; ``Sequence`` works on older versions.
        sequence = getattr(datasets, "List", None) or datasets.Sequence
        return sequence(label)


def _check_pred_probs(schema: LabelSchema, pred_probs: np.ndarray) -> np.ndarray:
    pred_probs = np.asarray(pred_probs)
    if pred_probs.ndim != 2 or pred_probs.shape[1] != schema.n_labels:
        raise InvalidInput(
            f"pred_probs must be (n, {schema.n_labels}) for this schema, got {pred_probs.shape}"
        )
    return pred_probs


def _keys(data: Mapping[str, Any]) -> str:
    return ", ".join(repr(k) for k in data) or "no fields"
