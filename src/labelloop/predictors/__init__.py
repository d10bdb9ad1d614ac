"""Predictors: a team's own model as a project's model (bring your own model).

A predictor takes items and returns ``pred_probs`` over the project's labels; a trainable one
also learns from the project's labels. A project uses one when its ``predictor`` setting names
it: its suggestions, calibration, auto-accept evidence and queue order then come from it
(:mod:`labelloop.services.models.predictors`). Built in: ``label-studio-ml``, a client of a
Label Studio ML backend. Installed packages add more through the ``labelloop.predictors`` entry
point group (a :class:`PredictorPlugin` each; see docs/plugins.md).

Example:
    >>> from labelloop.predictors import list_predictors
    >>> "label-studio-ml" in [p.name for p in list_predictors()]
    True
"""

from __future__ import annotations

import contextlib

from labelloop.errors import Conflict
from labelloop.predictors._base import (
    Predictor,
    PredictorContext,
    PredictorFactory,
    PredictorInfo,
    PredictorItem,
    PredictorPlugin,
    TrainablePredictor,
)
from labelloop.predictors._registry import (
    CheckedPredictor,
    list_predictors,
    load_predictor,
    predictor_info,
    predictor_plugin_errors,
    refresh_predictor_plugins,
    register_predictor,
    unregister_predictor,
)

__all__ = [
    "CheckedPredictor",
    "Predictor",
    "PredictorContext",
    "PredictorFactory",
    "PredictorInfo",
    "PredictorItem",
    "PredictorPlugin",
    "TrainablePredictor",
    "list_predictors",
    "load_predictor",
    "predictor_info",
    "predictor_plugin_errors",
    "refresh_predictor_plugins",
    "register_predictor",
    "unregister_predictor",
]


def _build_label_studio_ml(context: PredictorContext) -> Predictor:
    from labelloop.predictors._label_studio_ml import LabelStudioMLPredictor

    return LabelStudioMLPredictor(context)


def _register_builtin_predictors() -> None:
    from labelloop.predictors._label_studio_ml import LABEL_STUDIO_ML

    with contextlib.suppress(Conflict):
        register_predictor(PredictorPlugin(LABEL_STUDIO_ML, _build_label_studio_ml))


_register_builtin_predictors()
