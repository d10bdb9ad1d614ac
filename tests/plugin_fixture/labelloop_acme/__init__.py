"""A team's own models as labelloop plug-ins: what tests/test_plugins.py installs into a temp dir.

``acme-words`` is an encoder (hashed words, 32 dimensions); ``acme-keywords`` a trainable
predictor (multinomial naive Bayes over words, its counts kept in the project's state folder).
Its entry points, as the package's ``pyproject.toml`` would declare them::

    [project.entry-points."labelloop.backbones"]
    acme-words = "labelloop_acme:words"

    [project.entry-points."labelloop.predictors"]
    acme-keywords = "labelloop_acme:keywords"
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np

from labelloop.backbones import BackboneInfo, BackbonePlugin
from labelloop.predictors import PredictorInfo, PredictorPlugin
from labelloop.schema import Modality

_WORD = re.compile(r"[a-z0-9]+")
DIM = 32


def _words(text):
    return _WORD.findall(str(text).lower())


class WordsEncoder:
    name = "acme-words"
    modality = Modality.TEXT
    dim = DIM

    def encode(self, inputs, *, batch_size=64, progress=None):
        out = np.zeros((len(inputs), DIM), dtype=np.float32)
        for i, text in enumerate(inputs):
            for word in _words(text):
                out[i, int(hashlib.sha256(word.encode()).hexdigest(), 16) % DIM] += 1.0
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        if progress is not None and len(inputs):
            progress(len(inputs))
        return out


class KeywordsPredictor:
    """Naive Bayes over words; before any label every label is equally likely."""

    def __init__(self, context):
        self.labels = list(context.label_schema.labels)
        self.path = context.state_dir / "acme-counts.json"
        self.counts = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.fits = 0

    def predict(self, items):
        k = len(self.labels)
        vocabulary = {w for counts in self.counts.values() for w in counts}
        out = np.zeros((len(items), k))
        for i, item in enumerate(items):
            scores = np.zeros(k)
            for j, label in enumerate(self.labels):
                counts = self.counts.get(label, {})
                total = sum(counts.values()) + len(vocabulary) + 1
                scores[j] = sum(
                    np.log((counts.get(w, 0) + 1) / total) for w in _words(item.content)
                )
            scores = np.exp(scores - scores.max())
            out[i] = scores / scores.sum()
        return out

    def fit(self, items, labels):
        counts = {}
        for item, value in zip(items, labels, strict=True):
            for label in value:
                bag = counts.setdefault(label, {})
                for w in _words(item.content):
                    bag[w] = bag.get(w, 0) + 1
        self.counts = counts
        self.path.write_text(json.dumps(counts))
        self.fits += 1


words = BackbonePlugin(
    BackboneInfo("acme-words", Modality.TEXT, DIM, description="hashed words (acme)"),
    WordsEncoder,
)
keywords = PredictorPlugin(
    PredictorInfo("acme-keywords", "naive Bayes over words (acme)"), KeywordsPredictor
)
# for the error tests: not a plug-in, and a plug-in that takes a built-in backbone's name
not_a_plugin = "a string, not a BackbonePlugin"
fake_clash = BackbonePlugin(BackboneInfo("fake", Modality.TEXT, DIM), WordsEncoder)
