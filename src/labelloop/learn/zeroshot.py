"""Zero-shot suggestions before any label exists: cosine similarity to label prompts."""

from __future__ import annotations

import numpy as np

from labelloop.errors import InvalidInput
from labelloop.learn._softmax import softmax
from labelloop.learn._validation import check_embeddings, normalize_rows
from labelloop.schema import LabelSchema

__all__ = ["DEFAULT_TEMPLATES", "label_prompts", "zero_shot_pred_probs"]

DEFAULT_TEMPLATES: tuple[str, ...] = ("{label}", "This text is about {label}.")


def label_prompts(
    label_schema: LabelSchema, *, templates: tuple[str, ...] = DEFAULT_TEMPLATES
) -> list[list[str]]:
    """Prompts per label, in schema order: each template filled with the label's readable name,
    plus its description (from ``label_schema.descriptions``) when it has one.

    Example:
        >>> s = LabelSchema(task="text-classification", labels=["card_arrival", "Sports"],
        ...                 descriptions={"Sports": "games, teams, players"})
        >>> label_prompts(s)[0]
        ['card arrival', 'This text is about card arrival.']
        >>> label_prompts(s)[1][-1]
        'games, teams, players'
    """
    out: list[list[str]] = []
    for label in label_schema.labels:
        readable = label.replace("_", " ").replace("-", " ").strip() or label
        prompts = [t.format(label=readable) for t in templates]
        description = label_schema.descriptions.get(label)
        if description:
            prompts.append(description)
        out.append(prompts)
    return out


def zero_shot_pred_probs(
    item_embeddings: np.ndarray,
    label_embeddings: np.ndarray | list[np.ndarray],
    *,
    temperature: float = 0.05,
) -> np.ndarray:
    """Probabilities ``(n, k)`` from cosine similarity of items to labels.

    Args:
        item_embeddings: ``(n, d)`` item embeddings.
        label_embeddings: ``(k, d)`` one embedding per label, or a list of ``k`` arrays ``(p_j, d)``
            holding the embeddings of each label's prompts (averaged, then re-normalised).
        temperature: softmax temperature on cosine similarities; sentence-embedding cosines differ
            by a few hundredths between labels, hence a small default.

    Returns:
        ``softmax(cos(item, label) / temperature)``, rows summing to 1.
    """
    x = normalize_rows(check_embeddings(item_embeddings))
    if isinstance(label_embeddings, list):
        if not label_embeddings:
            raise InvalidInput("need at least one label", field="label_embeddings")
        rows = []
        for j, prompts in enumerate(label_embeddings):
            p = check_embeddings(prompts, dim=x.shape[1])
            if p.shape[0] == 0:
                raise InvalidInput(f"label {j} has no prompt embeddings", field="label_embeddings")
            rows.append(normalize_rows(p).mean(axis=0))
        labels = np.stack(rows)
    else:
        labels = check_embeddings(label_embeddings, dim=x.shape[1])
    if not temperature > 0:
        raise InvalidInput("must be positive", field="temperature")
    similarity = x @ normalize_rows(labels).T
    return softmax(similarity / temperature)
