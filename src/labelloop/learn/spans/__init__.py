"""Span models for named entities: pre-trained pre-annotation, fine-tuning, selection, scores.

Token-level and storage-free, like the rest of :mod:`labelloop.learn`: sentences and token spans
in, suggested spans with marginals and sentence scores out.
"""

from labelloop.learn.spans.model import (
    PRETRAINED_PACKAGE,
    Sentence,
    SentenceCalibrator,
    SpacySpanModel,
    SpanArgs,
    SpanPrediction,
    TokenSpan,
)
from labelloop.learn.spans.select import (
    Candidate,
    CandidateScore,
    SpanSelection,
    cross_validate_spans,
    select_span_model,
    span_f1,
)
from labelloop.learn.spans.transformer import TransformerSpanModel
from labelloop.learn.spans.typemap import ONTONOTES_TYPES, aliases, default_type_map

__all__ = [
    "ONTONOTES_TYPES",
    "PRETRAINED_PACKAGE",
    "Candidate",
    "CandidateScore",
    "Sentence",
    "SentenceCalibrator",
    "SpacySpanModel",
    "SpanArgs",
    "SpanPrediction",
    "SpanSelection",
    "TokenSpan",
    "TransformerSpanModel",
    "aliases",
    "cross_validate_spans",
    "default_type_map",
    "select_span_model",
    "span_f1",
]
