"""Models: train, predict, the model registry, evaluation, embeddings and saved model files.

Owns the ``model_versions`` and ``suggestions`` tables and the model/encoder artifacts. ``train``
fits and records a model version (and decides promotion); ``predict`` writes the champion's
suggestions. Neither calls the other: :mod:`labelloop.services.loop` sequences them.
Imports: :mod:`labelloop.services.data` and below, never annotation, quality or the loop.
"""
