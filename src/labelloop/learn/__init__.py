"""Transfer learning on embeddings: heads, calibration, cross-validation, zero-shot, augmentation
and SetFit fine-tuning. Arrays in, arrays out; no database, HTTP or terminal here.

Example:
    >>> import numpy as np
    >>> from labelloop.learn import TrainingArgs, fit_model
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(40, 8)).astype(np.float32); y = (x[:, 0] > 0).astype(int)
    >>> model = fit_model(x, y, n_labels=3, args=TrainingArgs(C=1.0))
    >>> model.predict_proba(x).shape, bool(model.predict_proba(x)[:, 2].max() < 1e-6)
    ((40, 3), True)
"""

from labelloop.learn.args import TrainingArgs
from labelloop.learn.augment import eda_augment, mixup
from labelloop.learn.calibration import (
    IsotonicCalibrator,
    TemperatureScaler,
    brier_score,
    expected_calibration_error,
)
from labelloop.learn.crossval import (
    AugmentedSet,
    ClassMetrics,
    Metrics,
    classification_metrics,
    out_of_fold_pred_probs,
)
from labelloop.learn.finetune import finetune_setfit
from labelloop.learn.heads import LogisticHead, MLPHead
from labelloop.learn.model import TrainedModel, fit_model
from labelloop.learn.multilabel import MultiLabelHead
from labelloop.learn.promotion import PromotionDecision, compare_models, promotion_decision
from labelloop.learn.zeroshot import label_prompts, zero_shot_pred_probs

__all__ = [
    "AugmentedSet",
    "ClassMetrics",
    "IsotonicCalibrator",
    "LogisticHead",
    "MLPHead",
    "Metrics",
    "MultiLabelHead",
    "PromotionDecision",
    "TemperatureScaler",
    "TrainedModel",
    "TrainingArgs",
    "brier_score",
    "classification_metrics",
    "compare_models",
    "eda_augment",
    "expected_calibration_error",
    "finetune_setfit",
    "fit_model",
    "label_prompts",
    "mixup",
    "out_of_fold_pred_probs",
    "promotion_decision",
    "zero_shot_pred_probs",
]
