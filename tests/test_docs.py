"""The README is a short front page, and every relative link in it and in docs/ resolves."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

from cio_sec.errors import EXIT_CODE_TABLE

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = sorted([README, *(ROOT / "docs").rglob("*.md")])
README_LIMIT = 12 * 1024

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
#: An inline link or image: [text](target) or [text](target "title").
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def _prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks, where a `#` starts a comment, not a heading."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)  # code spans keep their text
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their text
    kept = "".join(
        char for char in text.lower() if char in " -_" or unicodedata.category(char)[0] in "LN"
    )
    return kept.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor in a page; repeated headings get -1, -2 … as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for line in _prose_lines(page.read_text()):
        match = _HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def relative_links(page: Path) -> list[str]:
    """The targets of a page's links that point inside the repository."""
    return [
        target
        for line in _prose_lines(page.read_text())
        for target in _LINK.findall(line)
        if not _SCHEME.match(target)
    ]


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """The relative links of a page whose file or heading does not exist."""
    broken = []
    for target in relative_links(page):
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not resolved.exists() or not resolved.is_relative_to(root):
            broken.append(f"{target} (no such file)")
        elif anchor and (resolved.suffix != ".md" or anchor not in anchors(resolved)):
            broken.append(f"{target} (no such heading)")
    return broken


def test_the_readme_is_a_short_front_page() -> None:
    assert README.stat().st_size <= README_LIMIT


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_the_output_reference_repeats_the_exit_code_table() -> None:
    output = (ROOT / "docs" / "reference" / "output.md").read_text()
    for code, meaning in EXIT_CODE_TABLE:
        assert f"| {int(code)} | {meaning} |" in output


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Erasure (GDPR/CCPA)", "erasure-gdprccpa"),
        ("A webhook is failing — what do I run?", "a-webhook-is-failing--what-do-i-run"),
        ("Runbook: `track`", "runbook-track"),
        ("The audit trail's records", "the-audit-trails-records"),
        ("Output, logging and exit codes", "output-logging-and-exit-codes"),
    ],
)
def test_slugs_follow_github(heading: str, slug: str) -> None:
    assert github_slug(heading) == slug


def test_a_link_to_a_missing_file_or_heading_is_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "target.md").write_text("# Target\n\n## Has `code` — and more\n")
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "# Page\n\n[good](target.md#has-code--and-more) [self](#page)\n"
        "[gone](gone.md)\n[no heading](target.md#no-such-heading)\n"
        "[outside the repository](../../elsewhere.md)\n"
        "```sh\n# [not a link](inside-code.md)\n```\n[web](https://example.com/x.md)\n"
    )
    assert broken_links(page, root=tmp_path) == [
        "gone.md (no such file)",
        "target.md#no-such-heading (no such heading)",
        "../../elsewhere.md (no such file)",
    ]
