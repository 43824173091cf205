"""The docs gate of ``scripts/lint``: docs/ is the one design, and every pointer into it holds.

``.venv/bin/python docs/tools/check_docs.py`` reports, as ``file:line: message``, and exits 1 when it finds any:

* a link between the pages of ``docs/`` (``[text](page.md#anchor)``) to a page or heading that does not exist;
* a reference ``docs/page.md`` or ``docs/page.md#anchor`` anywhere in the tree to a page or heading that does
  not exist;
* a reference to the design document that used to live outside the repository (``DESIGN §…``, ``DESIGN.md``,
  ``../shared/``). ``migrations/`` (history) and ``openapi/openapi.json`` (generated) are not checked, nor
  ``docs/tools/`` (the rewrite keeps the old names in its mapping).

Headings are turned into anchors as GitHub does: lower case, punctuation dropped, spaces to hyphens.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SKIP = ("migrations/", "openapi/openapi.json", "docs/tools/", "web/node_modules/", "web/dist/")
SUFFIXES = {".py", ".md", ".ts", ".tsx", ".mjs", ".js", ".sh", ".toml", ".yaml", ".yml", ""}
LINK = re.compile(r"\]\(([A-Za-z0-9_.-]+\.md)(?:#([A-Za-z0-9_-]+))?\)")
POINTER = re.compile(r"docs/([A-Za-z0-9_-]+\.md)(?:#([A-Za-z0-9_-]+))?")
OLD = re.compile(r"DESIGN(?:\.md)?\s*§|DESIGN\.md|\.\./shared/(?:DESIGN|STYLE)")


def slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for page in DOCS.glob("*.md"):
        text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.M | re.S)
        out[page.name] = {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.M)}
    return out


def tracked() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],  # noqa: S607 - git on PATH
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    return [n for n in listed if n and not n.startswith(SKIP) and Path(n).suffix in SUFFIXES]


def main() -> int:
    pages = anchors()
    problems: list[str] = []

    def check(where: str, page: str, anchor: str | None) -> None:
        if page not in pages:
            problems.append(f"{where}: docs/{page} does not exist")
        elif anchor and anchor not in pages[page]:
            problems.append(f"{where}: docs/{page} has no heading #{anchor}")

    for page in sorted(DOCS.glob("*.md")):
        for n, line in enumerate(page.read_text().splitlines(), 1):
            for m in LINK.finditer(line):
                check(f"docs/{page.name}:{n}", m.group(1), m.group(2))
    for name in tracked():
        path = ROOT / name
        if not path.is_file():
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            for m in POINTER.finditer(line):
                check(f"{name}:{n}", m.group(1), m.group(2))
            if OLD.search(line):
                problems.append(f"{name}:{n}: points at the old design document; point into docs/ instead")
    for p in problems:
        print(p)
    print(f"docs: {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
