"""``labelloop auto-accept|audit|simulate``: calibrated auto-accept and the simulated annotator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from labelloop.cli._common import JsonOpt, emit, err, progress, workspace
from labelloop.errors import InvalidInput

__all__ = ["audit", "auto_accept", "simulate"]


def auto_accept(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    target_precision: Annotated[
        float,
        typer.Option("--target-precision", help="Required precision of accepted labels."),
    ] = 0.98,
    confidence: Annotated[
        float, typer.Option("--confidence", help="Probability that the guarantee holds.")
    ] = 0.95,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would be accepted; write nothing.")
    ] = False,
    min_evidence: Annotated[
        int, typer.Option("--min-evidence", help="Fewest evidence labels a threshold needs.")
    ] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Accept the champion's suggestions where they meet the target precision, with confidence.

    The threshold is the lowest whose precision on out-of-fold human labels has an exact
    binomial lower bound >= the target (Learn-then-Test); with too little evidence it refuses.
    """
    from labelloop.services.quality.autoaccept import AutoAcceptRefused

    try:
        result = workspace(ctx).auto_accept(
            name, target_precision=target_precision, confidence=confidence, dry_run=dry_run,
            min_evidence=min_evidence,
        )  # fmt: skip
    except AutoAcceptRefused as exc:
        if as_json:  # scripts get a JSON answer on a refusal too; the error line follows
            refusal = {"project": name, "refused": True, "reason": exc.reason, "dry_run": dry_run}
            typer.echo(json.dumps(refusal))
        raise

    def render() -> None:
        verb = "would accept" if dry_run else "accepted"
        err.print(
            f"{verb} {result.n_accepted} of {result.n_unlabelled} unlabelled items "
            f"({result.coverage:.1%}) at confidence >= {result.threshold:.3f} "
            f"(model version {result.model_version}); precision on {result.n_evidence_accepted} "
            f"of {result.n_evidence} out-of-fold labels {result.estimated_precision:.3f}, "
            f"lower bound {result.precision_lower_bound:.3f} at {confidence:.0%} confidence"
        )
        if not dry_run and result.n_audit:
            err.print(f"{result.n_audit} of them drawn for audit (review list)")

    emit(result, as_json, render)


def audit(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    target_precision: Annotated[
        float | None,
        typer.Option("--target-precision", help="Default: the last auto-accept's target."),
    ] = None,
    confidence: Annotated[float, typer.Option("--confidence")] = 0.95,
    as_json: JsonOpt = False,
) -> None:
    """Precision of auto-accepted labels measured on the audited sample (pauses when too low)."""
    from labelloop.services.quality.autoaccept import audit_report

    report = audit_report(
        workspace(ctx), name, target_precision=target_precision, confidence=confidence
    )

    def render() -> None:
        if report.n_audited == 0:
            err.print(
                f"{report.n_sampled} of {report.n_auto} auto-accepted items are in the audit "
                "sample; none has been reviewed yet"
            )
        else:
            err.print(
                f"audited precision {report.precision:.3f} on {report.n_audited} items "
                f"({report.confidence:.0%} interval {report.lower:.3f}-{report.upper:.3f}; "
                f"target {report.target_precision})"
            )
        if report.paused:
            err.print("auto-accept is PAUSED for this project")

    emit(report, as_json, render)


def simulate(
    pool: Annotated[Path, typer.Argument(help="Labelled file replayed as the unlabelled pool.")],
    eval_path: Annotated[
        Path, typer.Option("--eval", help="Labelled file the learning curve is scored on.")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder.")],
    label_field: Annotated[str, typer.Option("--label-field", help="Gold label column.")],
    text_field: Annotated[str, typer.Option("--text-field", help="Text column.")] = "text",
    strategies: Annotated[
        str, typer.Option("--strategies", help="Comma-separated query strategies.")
    ] = "random,margin",
    seeds: Annotated[int, typer.Option("--seeds", help="Runs per strategy (seeds 0..S-1).")] = 3,
    budget: Annotated[int, typer.Option("--budget", help="Human labels per run.")] = 500,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Labels per round.")] = 10,
    initial: Annotated[
        int, typer.Option("--initial", help="Random labels before the first model.")
    ] = 0,
    noise: Annotated[
        float, typer.Option("--noise", help="Rate of wrong answers from the annotator.")
    ] = 0.0,
    backbone: Annotated[str, typer.Option("--backbone", help="Pre-trained backbone.")] = (
        "minilm-l6"
    ),
    review_batch: Annotated[
        int, typer.Option("--review-batch", help="Items reviewed per end-to-end round.")
    ] = 200,
    review_strategy: Annotated[
        str,
        typer.Option("--review-strategy", help="End-to-end queue order ('same': keep strategy)."),
    ] = "random",
    target_precision: Annotated[float, typer.Option("--target-precision")] = 0.98,
    confidence: Annotated[float, typer.Option("--confidence")] = 0.95,
    end_to_end: Annotated[
        bool,
        typer.Option("--end-to-end/--no-end-to-end", help="Label the whole pool after the budget."),
    ] = True,
    fixed_c_after: Annotated[
        int,
        typer.Option(
            "--fixed-c-after",
            help="Reuse the CV-chosen C from this many labels on (0: search C every round).",
        ),
    ] = 100,
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="Shared embedding cache (default OUT/embeddings)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Replay labelled data with a simulated annotator to compare strategies and measure effort."""
    from labelloop.services.simulate.curves import SimulationConfig
    from labelloop.services.simulate.curves import simulate as run

    names = tuple(s.strip() for s in strategies.split(",") if s.strip())
    if not names:
        raise InvalidInput("give at least one strategy", field="strategies")
    config = SimulationConfig(
        pool=pool, eval=eval_path, out=out_dir, label_field=label_field, text_field=text_field,
        strategies=names, seeds=seeds, budget=budget, batch_size=batch_size, initial=initial,
        noise=noise, backbone=backbone, end_to_end=end_to_end, review_batch=review_batch,
        review_strategy=None if review_strategy == "same" else review_strategy,
        target_precision=target_precision, confidence=confidence,
        fixed_C_after=fixed_c_after or None, cache_dir=cache_dir,
    )  # fmt: skip
    with progress() as shown:
        summary = run(config, progress=shown)

    def render() -> None:
        err.print(f"ceiling (all {summary.pool_items} pool labels): {summary.ceiling_accuracy:.3f}")
        for strategy, m in summary.strategies.items():
            line = f"{strategy}: auc {m['auc']:.3f}, final accuracy {m['final_accuracy']:.3f}"
            if m.get("human_actions") is not None:
                line += (
                    f", human actions {m['human_actions']:.0f}, typed {m['typed_share']:.1%}, "
                    f"pool label accuracy {m['pool_label_accuracy']:.4f}"
                )
            err.print(line)
        err.print(f"wrote {summary.results}" + (f" and {summary.plot}" if summary.plot else ""))

    emit(summary, as_json, render)
