"""One families table from several `react-ros recipe` (or `react-ros families`) reports of the same recipe, e.g.
families trained one (or two) per command on a 2-core machine:

    python3 scripts/merge_families.py --out docs/results/recipe35_all --card docs/model.md \
        docs/results/recipe34:affect,partial docs/results/recipe35

Every family is taken from the one report that has it (a family in two reports is an error: which run counts
is for a person to say; `DIR:family,family` takes only those families from DIR, e.g. the ones a later run did not
retrain); the rows are copied, not recomputed, and each family's own command is kept in the JSON's meta.commands
and listed under the table.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from react_ros.evaluation import families as fam

META_PER_FAMILY = ("models", "train_seconds", "sampling", "seconds", "summaries")


def parse_report(argument: str) -> tuple[Path, tuple[str, ...] | None]:
    """`DIR` (every family of its report) or `DIR:family,family` (only those; each must be in it)."""
    path, _, names = argument.rpartition(":") if ":" in argument else (argument, "", "")
    return Path(path), tuple(n for n in names.split(",") if n) or None


def merge(reports: list[Path | tuple[Path, tuple[str, ...] | None]]) -> tuple[dict, dict]:
    """(results, meta) of the reports' families, in the families' own order; a report given as (directory,
    families) contributes only those families."""
    results, meta = {}, {"commands": {}, **{key: {} for key in META_PER_FAMILY}}
    for entry in reports:
        report, only = entry if isinstance(entry, tuple) else (entry, None)
        report_meta, report_results = fam.read_json(report / "families.json")
        if only is not None:
            missing = sorted(set(only) - set(report_results))
            if missing:
                raise ValueError(f"{report} has no {', '.join(missing)} (it has {', '.join(report_results)})")
            report_results = {f: rows for f, rows in report_results.items() if f in only}
        for family, rows in report_results.items():
            if family in results:
                raise ValueError(f"{family} is in {meta['commands'][family]!r} and in {report}: keep one")
            results[family] = rows
            meta["commands"][family] = report_meta["command"]
            for key in META_PER_FAMILY:
                if family in report_meta.get(key, {}):
                    meta[key][family] = report_meta[key][family]
    order = [f for f in fam.family_names() if f in results]
    return {f: results[f] for f in order}, meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", type=parse_report,
                        help="report directories (each with families.json), or DIR:family,family for only those")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--card", type=Path, help="also put the table between the recipe markers of this page")
    args = parser.parse_args()
    results, meta = merge(args.reports)
    named = [f"{path}:{','.join(only)}" if only else str(path) for path, only in args.reports]
    meta.update(direction=fam.DIRECTION, merged_from=named)
    args.out.mkdir(parents=True, exist_ok=True)
    fam.write_json(args.out / "families.json", meta, results)
    inputs = ", ".join(f"{f} {int(rows[fam.MODEL]['inputs'])}" for f, rows in results.items())
    header = (f"Merged from {', '.join(f'`{r}`' for r in named)} by `scripts/merge_families.py`: test inputs "
              f"per family: {inputs}; each family's command below the table.\n\n")
    table = fam.markdown(results)
    commands = "\n".join(f"- {f}: `{c}`" for f, c in meta["commands"].items())
    (args.out / "families.md").write_text(f"# Families: {fam.DIRECTION}, test split\n\n{header}{table}\n{commands}\n")
    if args.card:
        fam.update_card(args.card, header + table.split("\n\n")[0] + "\n\n" + commands + "\n", "recipe")
    print(table.split("\n\n")[0])


if __name__ == "__main__":
    main()
