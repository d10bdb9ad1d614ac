"""CLI commands of quality assurance: ``labelloop qa NAME`` and ``labelloop qa gold|flag|...``.

``labelloop qa NAME`` prints the report; the other forms are subcommands of the same group (a
first argument that is not a subcommand name is taken as the project of ``qa report``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from labelloop.cli._common import JsonOpt, emit, err, out, workspace

__all__ = ["qa_app"]


class _ReportByDefault(TyperGroup):
    """``qa NAME ...`` means ``qa report NAME ...``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["report", *args]
        return super().parse_args(ctx, args)


qa_app = typer.Typer(
    cls=_ReportByDefault,
    help="Quality: gold items, agreement, label errors, flags, review, audit. "
    "`labelloop qa NAME` prints the report.",
    no_args_is_help=True,
)


def _fmt(x: Any, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}" if isinstance(x, float) else str(x)


@qa_app.command("report")
def report(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    issues: Annotated[int, typer.Option("--issues", help="Label issues to list.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Agreement, gold accuracy, label issues, per-class errors, audit, blind vs suggested."""
    from labelloop.services.quality.qa import qa_report

    result = qa_report(workspace(ctx), name, issues=max(issues, 0) if not as_json else 100)

    def render() -> None:
        a, g, b = result.agreement, result.gold, result.blind_vs_suggested
        out.print(f"[bold]Quality of {name}[/bold]")
        spans = a.kind == "spans"
        if spans:
            out.print(
                f"agreement: {a.n_items} items with 2+ annotators, {a.n_disagreements} disagree; "
                f"span F1 exact {_fmt(a.exact_f1)}  partial {_fmt(a.partial_f1)}  "
                f"same span set {_fmt(a.percent_agreement)}"
            )
            if a.per_label_f1:
                table = Table("label", "exact F1", "partial F1", "spans", "pairs",
                              title="agreement per label")  # fmt: skip
                for label, x in a.per_label_f1.items():
                    table.add_row(label, _fmt(x.exact_f1), _fmt(x.partial_f1), str(x.n_spans),
                                  str(x.n_pairs))  # fmt: skip
                out.print(table)
        else:
            out.print(
                f"agreement: {a.n_items} items with 2+ annotators, {a.n_disagreements} disagree; "
                f"Cohen {_fmt(a.cohen_kappa_mean)}  Fleiss {_fmt(a.fleiss_kappa)}  "
                f"Krippendorff {_fmt(a.krippendorff_alpha)}  raw {_fmt(a.percent_agreement)}"
            )
        out.print(
            f"gold: {g.n_gold_items} items (rate {g.gold_rate}), {g.n_answers} answers, "
            f"accuracy {_fmt(g.accuracy)} [{_fmt(g.lower)}-{_fmt(g.upper)}]; "
            f"model on gold {_fmt(g.model_accuracy)} (n={g.model_n})"
            + (f"; span F1 exact {_fmt(g.exact_f1)} partial {_fmt(g.partial_f1)}, model "
               f"{_fmt(g.model_exact_f1)}" if spans else "")
        )  # fmt: skip
        if g.annotators:
            columns = ["annotator", "gold n", "correct", "accuracy", "95% CI"]
            table = Table(*columns, *(["exact F1", "partial F1"] if spans else []))
            for s in g.annotators:
                row = [s.annotator, str(s.n), str(s.n_correct), _fmt(s.accuracy),
                       f"{s.lower:.3f}-{s.upper:.3f}"]  # fmt: skip
                table.add_row(*row, *([_fmt(s.exact_f1), _fmt(s.partial_f1)] if spans else []))
            out.print(table)
        out.print(
            f"blind vs suggested: gold accuracy {_fmt(b.blind.gold_accuracy)} "
            f"(n={b.blind.gold_n}) vs {_fmt(b.suggested.gold_accuracy)} (n={b.suggested.gold_n}); "
            f"agreement {_fmt(b.blind.pair_agreement)} vs {_fmt(b.suggested.pair_agreement)}"
        )
        if result.label_issues:
            title = f"label issues (model v{result.label_issues_model_version})"
            table = Table("item", "given", "suggested", "score", title=title)
            for i in result.label_issues:
                table.add_row(str(i.external_id or i.item_id), "|".join(i.given),
                              "|".join(i.suggested), f"{i.score:.3f}")  # fmt: skip
            out.print(table)
        if result.per_class_errors:
            table = Table("class", "labels", "model disagrees", "mostly predicted as",
                          title="where people and the model disagree")  # fmt: skip
            for c in result.per_class_errors:
                top = next(iter(c.confused_with.items()), None)
                table.add_row(c.label, str(c.n), f"{c.disagree_rate:.1%}",
                              f"{top[0]} ({top[1]})" if top else "-")  # fmt: skip
            out.print(table)
        audit = result.auto_accept_audit
        if audit and audit.get("n_auto"):
            out.print(
                f"auto-accept audit: {audit['n_audited']} of {audit['n_sampled']} sampled audited, "
                f"precision {_fmt(audit['precision'])} (target {audit['target_precision']})"
                + ("  [bold red]PAUSED[/bold red]" if audit["paused"] else "")
            )
        f = result.flags
        out.print(f"flags: {f.open} open, {f.confirmed} confirmed, {f.dismissed} dismissed")
        for note in result.notes:
            err.print(f"note: {note}", markup=False)

    emit(result, as_json, render)


@qa_app.command("gold")
def gold(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    file: Annotated[Path, typer.Argument(help="CSV, TSV or JSONL of (id, answer) rows.")],
    id_field: Annotated[str, typer.Option("--id-field", help="Column of item ids.")] = "id",
    label_field: Annotated[
        str, typer.Option("--label-field", help="Column of the known answers.")
    ] = "label",
    label_separator: Annotated[
        str | None, typer.Option("--label-separator", help="Splits multi-label answers.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark items (already imported) as gold, with their known answers."""
    from labelloop.services.quality.qa import import_gold

    result = import_gold(workspace(ctx), name, file, id_field=id_field, label_field=label_field,
                         label_separator=label_separator)  # fmt: skip
    emit(result, as_json, lambda: err.print(f"{result.gold_set} gold items set in {name}"))


@qa_app.command("flag")
def flag_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    item_id: Annotated[int, typer.Argument(help="Item id.")],
    reason: Annotated[str, typer.Argument(help="Why the suggestion is wrong.")],
    annotator: Annotated[str, typer.Option("--annotator", envvar="USER")] = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Report that an item's suggestion is wrong (it goes to the review queue)."""
    from labelloop.services.quality.qa import flag

    result = flag(workspace(ctx), name, item_id, reason, annotator=annotator)
    emit(result, as_json, lambda: err.print(f"flag {result.id} on item {item_id} is open"))


@qa_app.command("review")
def review(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    limit: Annotated[int, typer.Option("--limit")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Items to review (disagreement, label_issue, flag, audit) with every answer."""
    from labelloop.services.quality.review import review_candidates

    result = review_candidates(workspace(ctx), name, limit=limit)

    def render() -> None:
        table = Table("item", "reasons", "current", "answers")
        for c in result:
            answers = "; ".join(f"{a.annotator or a.source}: {'|'.join(a.value or [])}"
                                for a in c.answers)  # fmt: skip
            table.add_row(str(c.item_id), ", ".join(c.reasons), "|".join(c.current or []), answers)
        out.print(table)

    emit(list(result), as_json, render)


@qa_app.command("resolve")
def resolve_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    item_id: Annotated[int, typer.Argument(help="Item id.")],
    value: Annotated[str, typer.Argument(help="The label (comma-separated for multi-label).")],
    reviewer: Annotated[str, typer.Option("--reviewer", envvar="USER")] = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Adjudicate an item: the label becomes its training label and closes its flags."""
    from labelloop.services.quality.adjudication import resolve

    labels = [v.strip() for v in value.split(",") if v.strip()]
    result = resolve(workspace(ctx), name, item_id, labels, reviewer=reviewer)
    emit(result, as_json, lambda: err.print(f"item {item_id} is now {'|'.join(labels)}"))


@qa_app.command("issues")
def issues_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    refresh: Annotated[bool, typer.Option("--refresh", help="Recompute now.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Label-error candidates of the champion model (computed after each retrain)."""
    from labelloop.services.quality.qa import label_issues

    result = label_issues(workspace(ctx), name, refresh=refresh)

    def render() -> None:
        err.print(f"{len(result.issues)} label issues among {result.n_labels} human labels "
                  f"(model v{result.model_version})")  # fmt: skip
        for i in result.issues[:50]:
            out.print(f"{i.external_id or i.item_id}\t{'|'.join(i.given)} -> "
                      f"{'|'.join(i.suggested)}\t{i.score:.3f}")  # fmt: skip

    emit(result, as_json, render)
