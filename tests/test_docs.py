"""The README and docs/ keep their promises: links resolve, the headline figures are the
committed results files', and every generated table is up to date. No training, no JAX."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
PENDING = re.compile(r"<!-- link-pending: (\S+) -->")
NUMBER = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?")


def build_docs():
    spec = importlib.util.spec_from_file_location("build_docs", ROOT / "scripts" / "build_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prose(text: str) -> str:
    """``text`` without fenced code blocks and inline code, where brackets are not links."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    heading = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", heading).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def links(page: Path) -> list[str]:
    return [t for t in LINK.findall(prose(page.read_text())) if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_and_images_resolve(page: Path) -> None:
    """Every relative link and image names a file of the repository, and an anchor into a
    markdown page names one of its headings. A link may name a file that another change
    brings only where the page marks it ``<!-- link-pending: PATH -->`` (PATH relative to
    the page); once the file exists, the marker must go."""
    text = page.read_text()
    pending = set(PENDING.findall(text))
    for target in pending:
        assert not (page.parent / target).exists(), (
            f"{page.name}: {target} exists now; remove its link-pending marker"
        )
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        if path in pending:
            continue
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"


def headline_rows() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- generated:headline ", 1)[1].split("<!-- end generated:headline", 1)[0]
    rows = [line for line in block.splitlines() if line.startswith("| ")][1:]  # minus header
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def tracked(path: Path) -> bool:
    """Whether git tracks ``path`` (True where the tree is no git checkout)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return True
    done = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(path)], cwd=ROOT, capture_output=True
    )
    return done.returncode == 0


def known_numbers(path: Path) -> set[str]:
    """The figures a results file holds as written: a markdown or CSV file's numbers as
    printed; a JSON file's numbers also as they print rounded to 0-3 decimals (with and
    without sign and thousands separators), and ``*wall_s`` in minutes to one decimal."""
    text = path.read_text()
    known = set(NUMBER.findall(text))
    if path.suffix != ".json":
        return known

    def walk(value, key=""):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            for d in range(4):
                known.update({f"{value:.{d}f}", f"{value:,.{d}f}", f"{value:+,.{d}f}"})
            if key.endswith("wall_s"):
                known.add(f"{value / 60:.1f}")

    walk(json.loads(text))
    return known


def test_headline_table_has_a_row_per_family_with_its_source() -> None:
    rows = headline_rows()
    names = [re.match(r"\[([^\]]+)\]", row[0])[1] for row in rows]
    assert names == list(build_docs().HEADLINE)
    for row in rows:
        target = re.fullmatch(r"\[[^\]]+\]\(([^)#]+)\)", row[-1])
        assert target and (ROOT / target[1]).is_file(), row


def test_every_headline_number_is_in_its_committed_results_file() -> None:
    """Each figure of a headline row, sign and rounding included, appears in the committed
    results file that row's last cell links (for a comparison, its ``results.md``, written
    from its summary.json)."""
    for row in headline_rows():
        source = ROOT / re.fullmatch(r"\[[^\]]+\]\(([^)#]+)\)", row[-1])[1]
        assert tracked(source), f"{source} is not in git"
        known = known_numbers(source)
        figures = [n for cell in row[1:-1] for n in NUMBER.findall(cell)]
        assert figures, row
        missing = [n for n in figures if n not in known]
        assert not missing, f"{row[0]}: {missing} not in {source.relative_to(ROOT)}"


def test_results_files_agree_with_their_summary() -> None:
    """The results.md a headline row names says what its summary.json holds: the best
    learner's mean and the wall time, as the generator reads them."""
    docs = build_docs()
    for name in docs.HEADLINE:
        summary = docs.summary(name)
        text = (docs.RESULTS / name / "results.md").read_text()
        assert f"{summary['wall_s'] / 60:.1f} min wall" in text
        for row in summary["table"]:
            figure = docs.cost(row) if "average_cost" in row else docs.num(row["eval"]["mean"])
            assert figure in text, row["policy"]


def test_every_generated_block_is_closed() -> None:
    docs = build_docs()
    for page in PAGES:
        text = page.read_text()
        opened = text.count("<!-- generated:")
        assert opened == len(docs.BLOCK.findall(text)), f"{page}: an unclosed generated block"


def test_generated_pages_are_up_to_date() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_docs.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_build_is_idempotent() -> None:
    docs = build_docs()
    for page in docs.pages():
        once, _ = docs.render(page.read_text())
        twice, changed = docs.render(once)
        assert twice == once and not changed, page
