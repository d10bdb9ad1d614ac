"""A trained model (head + calibrator + cross-validated quality) and the one call that makes it."""

from __future__ import annotations

import dataclasses
import os
import pickle
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from labelloop.errors import InvalidInput, NotFound
from labelloop.learn._validation import check_embeddings, check_hard_labels
from labelloop.learn.args import TrainingArgs
from labelloop.learn.calibration import (
    IdentityCalibrator,
    IsotonicCalibrator,
    TemperatureScaler,
    expected_calibration_error,
)
from labelloop.learn.crossval import (
    AugmentedSet,
    Metrics,
    can_cross_validate,
    classification_metrics,
    fit_head,
    make_head,
    out_of_fold_logits,
    select_C,
)
from labelloop.learn.heads import LogisticHead, MLPHead
from labelloop.learn.multilabel import MultiLabelHead
from labelloop.learn.semi import NeighbourSmoother, sample_rows

__all__ = ["FORMAT_VERSION", "TrainedModel", "fit_model"]

FORMAT_VERSION = 1
"""Version of the saved-model format; a file from a newer version is refused with a clear error."""

_FORMAT = "labelloop.TrainedModel"
_REUSE_C_ABOVE = 2000  # with this many labels the chosen C barely moves between retrains
Calibrator = TemperatureScaler | IsotonicCalibrator | IdentityCalibrator


@dataclass
class TrainedModel:
    """What one training run produces; the services layer stores it as a model version.

    Attributes:
        head: the fitted head (``MultiLabelHead`` when ``multi_label``).
        calibrator: maps the head's logits to calibrated probabilities (single-label only).
        n_labels: ``k``.
        multi_label: whether ``predict_proba`` rows are independent per-label probabilities.
        args: the :class:`TrainingArgs` used.
        C: the ``C`` used by a logistic head (chosen by cross-validation when ``args.C`` is None).
        metrics: cross-validated :class:`Metrics` (``None`` with too few labels, or multi-label).
        ece: cross-validated expected calibration error of the calibrated probabilities.
        train_seconds: wall time of :func:`fit_model`.
        n_train: number of labelled rows trained on.
        oof_predictions: ``(n_train,)`` out-of-fold predicted ids, in training-row order (for
            :func:`compare_models`); ``None`` when not cross-validated.
        oof_confidence: ``(n_train,)`` calibrated out-of-fold probability of that prediction
            (the evidence auto-accept chooses its threshold on); ``None`` when not
            cross-validated.
        smoother: the neighbourhood smoothing applied to every input first (semi-supervised
            models only).
        format_version: :data:`FORMAT_VERSION` at save time.
    """

    head: LogisticHead | MLPHead | MultiLabelHead
    calibrator: Calibrator | None
    n_labels: int
    multi_label: bool
    args: TrainingArgs
    C: float | None = None
    metrics: Metrics | None = None
    ece: float | None = None
    train_seconds: float = 0.0
    n_train: int = 0
    oof_predictions: np.ndarray | None = field(default=None, repr=False)
    oof_confidence: np.ndarray | None = field(default=None, repr=False)
    smoother: NeighbourSmoother | None = field(default=None, repr=False)
    format_version: int = FORMAT_VERSION

    def __setstate__(self, state: dict[str, Any]) -> None:
        # a file written before a field existed loads with that field's default
        for f in dataclasses.fields(self):
            if f.name not in state and f.default is not dataclasses.MISSING:
                state[f.name] = f.default
        self.__dict__.update(state)

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        """Calibrated probabilities ``(n, k)`` for ``(n, d)`` embeddings.

        Single-label rows sum to 1; multi-label entries are independent per-label probabilities.
        """
        if self.smoother is not None:
            embeddings = self.smoother.transform(embeddings)
        if self.multi_label or self.calibrator is None:
            return np.asarray(self.head.predict_proba(embeddings), dtype=np.float32)
        logits = self.head.decision_function(embeddings)
        return self.calibrator.predict_proba(logits).astype(np.float32)

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        """Label ids ``(n,)``, or the ``(n, k)`` 0/1 decisions of a multi-label model."""
        if self.multi_label:
            return np.asarray(self.head.predict(embeddings))
        return np.argmax(self.predict_proba(embeddings), axis=1).astype(np.int64)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write to ``path`` atomically (a temp file in the same folder, fsync, then rename).

        A crash mid-write leaves any previous file at ``path`` untouched. The file is a pickle:
        load only files this workspace wrote.
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        payload = {"format": _FORMAT, "version": FORMAT_VERSION, "model": self}
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrainedModel:
        """Read a model written by :meth:`save`.

        Raises:
            NotFound: no file at ``path``.
            InvalidInput: not a labelloop model file, or one written by a newer format version.
        """
        source = Path(path)
        if not source.is_file():
            raise NotFound(f"no model file at {source}")
        try:
            with source.open("rb") as fh:
                payload = pickle.load(fh)
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
            raise InvalidInput(f"cannot read model file: {exc}", file=str(source)) from None
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise InvalidInput("not a labelloop model file", file=str(source))
        if int(payload.get("version", 0)) > FORMAT_VERSION:
            raise InvalidInput(
                f"written by a newer labelloop (model format {payload['version']}, this version "
                f"reads up to {FORMAT_VERSION}); upgrade labelloop",
                file=str(source),
            )
        model = payload["model"]
        if not isinstance(model, cls):
            raise InvalidInput("not a labelloop model file", file=str(source))
        return model


def _make_calibrator(args: TrainingArgs) -> Calibrator:
    if args.calibration == "temperature":
        return TemperatureScaler()
    if args.calibration == "isotonic":
        return IsotonicCalibrator()
    return IdentityCalibrator()


def fit_model(
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    n_labels: int,
    args: TrainingArgs | None = None,
    init: TrainedModel | None = None,
    label_names: Sequence[str] | None = None,
    augmented: AugmentedSet | None = None,
    unlabelled: np.ndarray | None = None,
) -> TrainedModel:
    """Train a head on labelled embeddings, with cross-validated quality and calibration.

    Steps (single-label): out-of-fold logits (choosing ``C`` on the way when ``args.C`` is None),
    a calibrator fitted on them, :class:`Metrics` and ECE from the calibrated out-of-fold
    probabilities, then the final head on all labels (warm-started from ``init``'s head).

    Args:
        embeddings: ``(n, d)`` embeddings of the labelled items.
        labels: ``(n,)`` label ids, or an ``(n, k)`` 0/1 indicator for a multi-label task.
        n_labels: ``k``, the number of labels in the schema; labels without rows get ~0 probability.
        args: training arguments (default :class:`TrainingArgs`).
        init: the previous model; its head warm-starts the fits, and with many labels its ``C``
            is reused instead of searched again.
        label_names: ``k`` names for the metrics (default ``"0"``, ``"1"``, ...).
        augmented: extra training rows derived from labelled rows (e.g. re-encoded EDA texts).
        unlabelled: ``(m, d)`` embeddings of unlabelled items, used when
            ``args.semi_supervised`` (a seeded sample of at most ``args.unlabelled_sample``).

    Returns:
        The :class:`TrainedModel`.
    """
    start = time.perf_counter()
    args = args or TrainingArgs()
    x = check_embeddings(embeddings)
    if n_labels < 1:
        raise InvalidInput("must be at least 1", field="n_labels")
    names = list(label_names) if label_names is not None else [str(j) for j in range(n_labels)]
    if len(names) != n_labels:
        raise InvalidInput(f"need {n_labels} names, got {len(names)}", field="label_names")
    if x.shape[0] == 0:
        raise InvalidInput("at least one label is needed to train", field="labels")
    if np.asarray(labels).ndim == 2:
        return _fit_multi_label(x, np.asarray(labels), n_labels=n_labels, args=args, start=start)
    y = check_hard_labels(labels, x.shape[0], n_labels)
    smoother, pool = None, None
    if args.semi_supervised and unlabelled is not None and len(unlabelled):
        x, pool, smoother, augmented = _semi_supervised_rows(x, unlabelled, args, augmented)
    prev_head = init.head if init is not None and not init.multi_label else None
    warm = prev_head if isinstance(prev_head, LogisticHead) else None
    C = args.C
    calibrator: Calibrator = IdentityCalibrator()
    metrics = ece = oof_pred = oof_conf = None
    oof: np.ndarray | None = None
    if can_cross_validate(y):
        if (
            args.head == "logreg"
            and C is None
            and init is not None
            and init.C is not None
            and (len(y) >= _REUSE_C_ABOVE)
        ):
            C = init.C
        if args.head == "logreg" and C is None:
            C, oof = select_C(x, y, n_labels=n_labels, args=args, augmented=augmented)
        if oof is None or (pool is not None and args.self_trains):
            # select_C scored plain heads; the out-of-fold logits must come from self-trained ones
            oof = out_of_fold_logits(
                x, y, n_labels=n_labels, args=args, C=C, init=warm, augmented=augmented,
                unlabelled=pool,
            )  # fmt: skip
        calibrator = _make_calibrator(args).fit(oof, y)
        probs = calibrator.predict_proba(oof)
        metrics = classification_metrics(y, probs, label_names=names)
        ece = expected_calibration_error(probs, y)
        oof_pred = probs.argmax(axis=1).astype(np.int64)
        oof_conf = probs.max(axis=1).astype(np.float32)
    else:
        calibrator.fit(np.zeros((len(y), n_labels)), y)
    if args.head == "logreg" and C is None:
        C = 10.0
    head = fit_head(
        x, y, n_labels=n_labels, args=args, C=C, init=warm, augmented=augmented, unlabelled=pool
    )
    return TrainedModel(
        head=head,
        calibrator=calibrator,
        n_labels=n_labels,
        multi_label=False,
        args=args,
        C=C if args.head == "logreg" else None,
        metrics=metrics,
        ece=ece,
        train_seconds=time.perf_counter() - start,
        n_train=len(y),
        oof_predictions=oof_pred,
        oof_confidence=oof_conf,
        smoother=smoother,
    )


def _semi_supervised_rows(
    x: np.ndarray, unlabelled: np.ndarray, args: TrainingArgs, augmented: AugmentedSet | None
) -> tuple[np.ndarray, np.ndarray, NeighbourSmoother | None, AugmentedSet | None]:
    """Sample the unlabelled rows and smooth everything: ``(x, pool, smoother, augmented)``."""
    everything = check_embeddings(unlabelled, dim=x.shape[1])
    pool = everything[sample_rows(len(everything), args.unlabelled_sample, seed=args.seed)]
    if args.smoothing_neighbours == 0 or args.smoothing_weight == 0:
        return x, pool, None, augmented
    reference = np.concatenate([x, everything])
    reference = reference[sample_rows(len(reference), args.smoothing_reference, seed=args.seed)]
    smoother = NeighbourSmoother(neighbours=args.smoothing_neighbours, weight=args.smoothing_weight)
    smoother.fit(reference)
    if augmented is not None and len(augmented.source):
        augmented = dataclasses.replace(
            augmented, embeddings=smoother.transform(augmented.embeddings)
        )
    return smoother.transform(x), smoother.transform(pool), smoother, augmented


def _fit_multi_label(
    x: np.ndarray, y: np.ndarray, *, n_labels: int, args: TrainingArgs, start: float
) -> TrainedModel:
    if y.shape != (x.shape[0], n_labels):
        raise InvalidInput(f"multi-label labels must be ({x.shape[0]}, {n_labels})", field="labels")
    C = args.C if args.C is not None else 10.0
    base = make_head(args, n_labels=2, C=C)
    head = MultiLabelHead(
        base,
        threshold_strategy=args.threshold_strategy,
        threshold=args.threshold,
        cv_folds=args.cv_folds,
        seed=args.seed,
    ).fit(x, y)
    return TrainedModel(
        head=head,
        calibrator=None,
        n_labels=n_labels,
        multi_label=True,
        args=args,
        C=C if args.head == "logreg" else None,
        train_seconds=time.perf_counter() - start,
        n_train=x.shape[0],
    )
