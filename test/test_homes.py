"""Every measuring script and training config has a home and a reader: research measurements in benchmarks/ are
listed in benchmarks/README.md and named on a docs page; QA tools in scripts/ are listed in scripts/README.md;
a training config is named by a page, a test or the code (one nothing names is dead weight: remove it)."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _text(*patterns: str) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace") for pattern in patterns
                     for path in sorted(ROOT.glob(pattern)) if path.is_file())


def unlisted(folder: str, index: str, pages: str | None) -> list[str]:
    """Files of `folder` that its index does not list (or, with `pages`, that no page names)."""
    listed = (ROOT / index).read_text(encoding="utf-8")
    named = _text(pages) if pages else listed
    return [path.name for path in sorted((ROOT / folder).iterdir())
            if path.is_file() and path.suffix in (".py", ".sh")
            and (f"`{path.name}`" not in listed or f"{folder}/{path.name}" not in named and pages)]


def test_every_research_measurement_is_listed_and_cited_by_a_page():
    assert unlisted("benchmarks", "benchmarks/README.md", "docs/*.md") == []


def test_every_qa_tool_is_listed():
    assert unlisted("scripts", "scripts/README.md", None) == []


def test_every_training_config_is_named_somewhere():
    readers = _text("README.md", "docs/**/*.md", "test/*.py", "react_ros/**/*.py", "scripts/*", "benchmarks/*.py")
    unnamed = [path.name for path in sorted((ROOT / "config" / "training").glob("*.yaml")) if path.stem not in readers]
    assert unnamed == []


def test_the_checks_see_an_unlisted_script(tmp_path, monkeypatch):
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "listed.py").write_text("")
    (tmp_path / "benchmarks" / "orphan.py").write_text("")
    (tmp_path / "benchmarks" / "README.md").write_text("| `listed.py` | ... |\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("`python benchmarks/listed.py`\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert unlisted("benchmarks", "benchmarks/README.md", "docs/*.md") == ["orphan.py"]
    (tmp_path / "benchmarks" / "README.md").write_text("| `listed.py` | `orphan.py` |\n")
    assert unlisted("benchmarks", "benchmarks/README.md", "docs/*.md") == ["orphan.py"]  # listed, on no page
