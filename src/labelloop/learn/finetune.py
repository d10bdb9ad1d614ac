"""SetFit fine-tuning of the sentence-transformer backbone (contrastive pairs, body only).

The head is trained afterwards by :func:`labelloop.learn.fit_model` on embeddings from the
fine-tuned body, like any frozen backbone; only the body is saved here.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelloop.errors import InvalidInput, MissingDependency
from labelloop.learn.args import TrainingArgs

__all__ = ["finetune_setfit"]

log = logging.getLogger(__name__)

FinetuneProgress = Callable[[int, int], None]
"""Called with ``(steps_done, total_steps)`` during contrastive training."""


def _import_setfit() -> Any:
    try:
        import setfit
    except ImportError:
        raise MissingDependency("SetFit fine-tuning", extra="finetune") from None
    return setfit


def finetune_setfit(
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    base_model_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    args: TrainingArgs | None = None,
    progress: FinetuneProgress | None = None,
    device: str | None = None,
) -> Path:
    """Fine-tune a sentence-transformer on labelled texts with SetFit's contrastive phase.

    Pairs: SetFit's ``num_iterations`` sampling (``args.finetune_iterations`` positive and negative
    pairs per text), capped at ``args.finetune_max_pairs`` pairs through ``max_steps`` so a CPU run
    on a few hundred labels takes minutes, not hours.

    Args:
        texts: ``n`` labelled texts.
        labels: ``(n,)`` label ids (or an ``(n, k)`` 0/1 indicator for multi-label).
        base_model_path: folder of the sentence-transformer to start from (no hub downloads).
        out_dir: where the fine-tuned sentence-transformer folder is written; it appears only
            when complete (written to a temp folder next to it, then renamed).
        args: ``finetune_*`` fields set the run (default :class:`TrainingArgs`).
        progress: optional ``(steps_done, total_steps)`` callback.
        device: torch device (``"cpu"``, ``"cuda"``); default: SetFit's choice.

    Returns:
        ``out_dir`` as a :class:`Path`, loadable with ``SentenceTransformer(out_dir)``.

    Raises:
        MissingDependency: ``setfit`` is not installed (``pip install 'labelloop[finetune]'``).
        InvalidInput: fewer than two texts, mismatched labels, or a single class.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = args or TrainingArgs()
    y = np.asarray(labels)
    if len(texts) < 2 or y.shape[0] != len(texts):
        raise InvalidInput("need at least two texts and one label per text", field="labels")
    if y.ndim == 1 and len(np.unique(y)) < 2:
        raise InvalidInput(
            "contrastive fine-tuning needs at least two labels in use", field="labels"
        )
    if not Path(base_model_path).exists():
        raise InvalidInput(f"no model folder at {base_model_path}", field="base_model_path")
    setfit = _import_setfit()
    from datasets import Dataset

    model = setfit.SetFitModel.from_pretrained(
        str(base_model_path),
        multi_target_strategy="one-vs-rest" if y.ndim == 2 else None,
        device=device,
    )
    pairs = 2 * args.finetune_iterations * len(texts)
    if args.finetune_max_pairs:
        pairs = min(pairs, args.finetune_max_pairs)
    max_steps = max(1, -(-pairs // args.finetune_batch_size)) * args.finetune_epochs
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        st_args = setfit.TrainingArguments(
            output_dir=str(work / "checkpoints"),
            batch_size=args.finetune_batch_size,
            num_epochs=args.finetune_epochs,
            num_iterations=args.finetune_iterations,
            max_steps=max_steps,
            body_learning_rate=args.finetune_learning_rate,
            seed=args.seed,
            show_progress_bar=False,
            report_to="none",
            save_strategy="no",
            logging_strategy="no",
        )
        dataset = Dataset.from_dict({"text": list(map(str, texts)), "label": y.tolist()})
        trainer = setfit.Trainer(model=model, args=st_args, train_dataset=dataset)
        if progress is not None:
            trainer.add_callback(_progress_callback(progress))
        trainer.train_embeddings(list(map(str, texts)), y.tolist(), args=st_args)
        body = work / "model"
        model.model_body.save(str(body))
        if out.exists():
            old = work / "previous"
            os.replace(out, old)
        os.replace(body, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info(
        "fine-tuned %s on %d texts (%d steps) into %s", base_model_path, len(texts), max_steps, out
    )
    return out


def _progress_callback(progress: FinetuneProgress) -> Any:
    from transformers import TrainerCallback

    class _Progress(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            progress(int(state.global_step), int(state.max_steps))

    return _Progress()
