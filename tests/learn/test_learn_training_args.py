from __future__ import annotations

import pytest

from labelloop.errors import InvalidInput
from labelloop.learn import TrainingArgs


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("head", "svm"),
        ("C", 0.0),
        ("C", -1.0),
        ("C_grid", ()),
        ("calibration", "platt"),
        ("cv_folds", 1),
        ("augment", "backtranslate"),
        ("augment_factor", -1),
        ("mixup_alpha", 0.0),
        ("threshold", 1.5),
        ("max_iter", 0),
        ("finetune", "yes"),
        ("finetune_batch_size", 0),
    ],
)
def test_invalid_values_name_their_field(field, value):
    with pytest.raises(InvalidInput) as info:
        TrainingArgs(**{field: value})
    assert info.value.field == field
    assert repr(field) in str(info.value)


def test_defaults_and_dict_round_trip():
    args = TrainingArgs()
    assert (args.head, args.calibration, args.cv_folds, args.augment) == (
        "logreg",
        "temperature",
        5,
        "none",
    )
    assert args.finetune_min_labels == 64
    custom = TrainingArgs(C=3.0, C_grid=(1.0, 2.0), head="mlp", finetune=True)
    data = custom.to_dict()
    assert data["C_grid"] == [1.0, 2.0]
    assert TrainingArgs.from_dict(data) == custom
    assert custom.replace(C=5.0).C == 5.0


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(InvalidInput, match="learning_rate"):
        TrainingArgs.from_dict({"learning_rate": 0.1})


def test_args_are_frozen():
    with pytest.raises(AttributeError):
        TrainingArgs().C = 3.0  # type: ignore[misc]
