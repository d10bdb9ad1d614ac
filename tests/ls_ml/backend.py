"""A real Label Studio ML backend for the client's tests: ``label-studio-ml``'s own Flask server
around a tiny word-count model. Runs in the separate ``.venv-lsml`` (``make lsml-venv``):
label-studio-ml 1.0.9 pins Flask 1.1.2, Jinja2 3.0.3 and itsdangerous 2.0.1, older than what
labelloop's server needs.

Usage: ``.venv-lsml/bin/python tests/ls_ml/backend.py PORT MODEL_DIR [--no-train]``
"""

from __future__ import annotations

import math
import os
import re
import sys

# the v2 manager keeps one current model, which /train replaces (1.0.9 defaults to the
# deprecated per-project manager, whose /predict then looks in the wrong place)
os.environ.setdefault("LABEL_STUDIO_ML_BACKEND_V2", "true")

from label_studio_ml.api import init_app
from label_studio_ml.model import LabelStudioMLBase

_WORD = re.compile(r"[a-z0-9]+")


class WordCountModel(LabelStudioMLBase):
    """Multinomial naive Bayes over the task's words, its counts the training output.

    Before any training every label is equally likely, so it answers the first label with
    score ``1 / k``; after ``fit`` it answers the most probable label with its probability.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.from_name, info = next(iter(self.parsed_label_config.items()))
        self.to_name = info["to_name"][0]
        self.value = info["inputs"][0]["value"]
        self.labels = list(info["labels"])
        self.words = (self.train_output or {}).get("words", {})

    def predict(self, tasks, **kwargs):
        vocabulary = {w for counts in self.words.values() for w in counts}
        predictions = []
        for task in tasks:
            words = _WORD.findall(str(task["data"][self.value]).lower())
            logs = []
            for label in self.labels:
                counts = self.words.get(label, {})
                total = sum(counts.values()) + len(vocabulary) + 1
                logs.append(sum(math.log((counts.get(w, 0) + 1) / total) for w in words))
            top = max(logs)
            odds = [math.exp(x - top) for x in logs]
            best = max(range(len(odds)), key=odds.__getitem__)
            score = odds[best] / sum(odds)
            region = {
                "from_name": self.from_name,
                "to_name": self.to_name,
                "type": "choices",
                "value": {"choices": [self.labels[best]]},
                "score": score,
            }
            predictions.append({"result": [region], "score": score})
        return predictions

    def fit(self, tasks, workdir=None, **kwargs):
        words: dict[str, dict[str, int]] = {}
        for task in tasks:
            text = str(task["data"][self.value]).lower()
            for annotation in task["annotations"]:
                for region in annotation["result"]:
                    for label in region["value"]["choices"]:
                        counts = words.setdefault(label, {})
                        for w in _WORD.findall(text):
                            counts[w] = counts.get(w, 0) + 1
        return {"words": words}


def without_training(wsgi_app):
    """The backend as one that cannot learn: ``/train`` and ``/webhook`` answer 404."""

    def app(environ, start_response):
        if environ.get("PATH_INFO") in ("/train", "/webhook"):
            start_response("404 NOT FOUND", [("Content-Type", "text/plain")])
            return [b"not found"]
        return wsgi_app(environ, start_response)

    return app


if __name__ == "__main__":
    port, model_dir = int(sys.argv[1]), sys.argv[2]
    app = init_app(model_class=WordCountModel, model_dir=model_dir)
    if "--no-train" in sys.argv:
        app.wsgi_app = without_training(app.wsgi_app)
    app.run(host="127.0.0.1", port=port, debug=False, use_reloader=False)
