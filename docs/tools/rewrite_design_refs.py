"""Rewrite every reference to the old design document ("DESIGN §4.2", "DESIGN.md") into docs/ (issue 15).

The plan used to live outside the repository; its sections now live in docs/. This script rewrote each
reference once, line by line (only the lines that carry a reference change), and is kept for the mapping:

    .venv/bin/python docs/tools/rewrite_design_refs.py [--write] [paths…]

Without ``--write`` it prints what it would change. Python lines that grow past 120 characters are wrapped
at a space, the continuation carrying the line's own indent (and ``# `` for a comment), and the file must still
parse. ``migrations/`` (history) and ``openapi/openapi.json`` (generated from the docstrings) are left alone.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 120

#: Old section → where it lives now.
SECTIONS: dict[str, str] = {
    "1": "docs/access.md#roles",
    "2": "docs/data-model.md",
    "3": "docs/access.md",
    "3.1": "docs/access.md#one-policy",
    "3.2": "docs/access.md#consent-and-redaction",
    "3.3": "docs/access.md#tokens-and-devices",
    "3.4": "docs/access.md#audit",
    "3.5": "docs/access.md#bounds-of-administrators-and-integrations",
    "3.6": "docs/access.md#lifecycle-of-personal-data-pipa",
    "4": "docs/sync.md",
    "4.1": "docs/sync.md#pull",
    "4.2": "docs/sync.md#push",
    "4.3": "docs/sync.md#scope",
    "5": "docs/uploads.md",
    "6": "docs/integrations.md",
    "7": "docs/api.md#conventions",
    "7.1": "docs/api.md#core-paths",
    "8": "docs/operations.md#deployment",
    "9": "docs/performance.md#budget",
    "10": "docs/testing.md#what-must-hold-under-stress",
    "11": "docs/winter.md",
    "12": "docs/apps.md",
}

#: References without a section number, and the README section that moved into docs/.
PHRASES: list[tuple[str, str]] = [
    ("the DESIGN field", "the docs/data-model.md field"),
    ("(DESIGN ``version``)", "(docs/data-model.md ``version``)"),
    ("the DESIGN fields", "the fields of docs/data-model.md"),
    ("besides DESIGN's fields", "besides the fields of docs/data-model.md"),
    ('README "Security notes"', "docs/access.md#tokens-and-devices"),
    ("../shared/DESIGN.md", "docs/README.md"),
]

SECTION = r"§\s?(\d+(?:\.\d+)?)"
REF = re.compile(r"DESIGN(?:\.md)?,?\s" + SECTION + r"((?:\s*(?:,|and|/|&)\s*" + SECTION + r")*)")
MORE = re.compile(r"(\s*(?:,|and|/|&)\s*)" + SECTION)
#: "… (DESIGN" at the end of a line, "§6) …" at the start of the next.
SPLIT_TAIL = re.compile(r"DESIGN(?:\.md)?$")
SPLIT_HEAD = re.compile(r"^(\s*(?:#\s*|//\s*|\*\s*)?)" + SECTION)

SKIP_PARTS = {".git", ".venv", "node_modules", "migrations", "dist", ".ruff_cache", ".mypy_cache"}
SELF = "docs/tools/rewrite_design_refs.py"
SUFFIXES = {".py", ".md", ".ts", ".tsx", ".mjs", ".js", ".sh", ".toml", ".json", ""}


def target(number: str, relative_to_docs: bool) -> str:
    where = SECTIONS[number]
    return where.removeprefix("docs/") if relative_to_docs else where


def rewrite_line(line: str, in_docs: bool) -> str:
    for old, new in PHRASES:
        line = line.replace(old, new.removeprefix("docs/") if in_docs else new)

    def one(match: re.Match[str]) -> str:
        out = target(match.group(1), in_docs)
        for sep, number in MORE.findall(match.group(2)):
            out += sep + target(number, in_docs)
        return out

    return REF.sub(one, line)


def _kinds(text: str) -> dict[int, list[tuple[int, int, str]]]:
    """Per line number: the (start, end, kind) column spans of comments and triple-quoted strings on it."""
    spans: dict[int, list[tuple[int, int, str]]] = {}
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:
            spans.setdefault(tok.start[0], []).append((tok.start[1], tok.end[1], "comment"))
        elif tok.type == tokenize.STRING and tok.string.lstrip("rbuRBU").startswith(('"""', "'''")):
            for row in range(tok.start[0], tok.end[0] + 1):
                start = tok.start[1] if row == tok.start[0] else 0
                end = tok.end[1] if row == tok.end[0] else 10**6
                spans.setdefault(row, []).append((start, end, "docstring"))
    return spans


def wrap(line: str, spans: list[tuple[int, int, str]]) -> list[str]:
    """A too-long line split at the last space before the limit, when that space is inside a comment (the rest
    continues as a comment) or a triple-quoted string (the rest continues at the line's indent); else as it is."""
    if len(line) <= LIMIT:
        return [line]
    indent = line[: len(line) - len(line.lstrip())]
    for cut in range(min(LIMIT, len(line) - 1), len(indent), -1):
        if line[cut] != " ":
            continue
        kind = next((k for start, end, k in spans if start < cut < end), None)
        if kind is None:
            return [line]
        if kind == "comment":
            prefix = indent + "# "
            if line[:cut].rstrip().endswith("#"):
                return [line]
        else:
            prefix = indent
        rest = prefix + line[cut + 1 :]
        return [line[:cut].rstrip(), *wrap(rest, [(0, 10**6, kind)])]
    return [line]


def rewrite_file(path: Path) -> tuple[str, str] | None:
    """The file's text and its rewritten text, or None when nothing changes."""
    text = path.read_text()
    new_text = rewrite_text(text, path)
    return None if new_text == text else (text, new_text)


def rewrite_text(text: str, path: Path) -> str:
    """``text`` (the content of ``path``) with every reference rewritten."""
    if "DESIGN" not in text and 'README "Security notes"' not in text:
        return text
    in_docs = path.relative_to(ROOT).parts[0] == "docs"
    lines = text.split("\n")
    out: list[str] = []
    changed: set[int] = set()  # indexes into out of lines that changed and were not too long before
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        head = SPLIT_HEAD.match(nxt) if nxt is not None and SPLIT_TAIL.search(line.rstrip()) else None
        if nxt is not None and head is not None:
            line = SPLIT_TAIL.sub(target(head.group(2), in_docs), line.rstrip())
            nxt = head.group(1) + nxt[head.end() :].lstrip()
            pairs = [(lines[i], rewrite_line(line, in_docs)), (lines[i + 1], rewrite_line(nxt, in_docs))]
            i += 2
        else:
            pairs = [(line, rewrite_line(line, in_docs))]
            i += 1
        for before, after in pairs:
            if after != before and len(before) <= LIMIT:
                changed.add(len(out))
            out.append(after)
    new_text = "\n".join(out)
    if new_text == text:
        return text
    if path.suffix == ".py":
        spans = _kinds(new_text)
        wrapped: list[str] = []
        for n, line in enumerate(out):
            wrapped.extend(wrap(line, spans.get(n + 1, [])) if n in changed else [line])
        candidate = "\n".join(wrapped)
        try:
            ast.parse(candidate)
            new_text = candidate
        except SyntaxError as exc:
            print(f"{path}: wrapping broke the syntax ({exc}); lines kept whole", file=sys.stderr)
        for n, line in enumerate(new_text.split("\n")):
            if len(line) > LIMIT and ("docs/" in line):
                print(f"{path.relative_to(ROOT)}:{n + 1}: still {len(line)} characters", file=sys.stderr)
    return new_text


def files(paths: list[str]) -> list[Path]:
    listed = subprocess.run(  # noqa: S603 - git, with paths from the command line
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *paths],  # noqa: S607 - git on PATH
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    out = []
    for name in listed:
        path = ROOT / name
        if set(Path(name).parts) & SKIP_PARTS or name in ("openapi/openapi.json", SELF):
            continue
        if path.is_file() and (path.suffix in SUFFIXES):
            out.append(path)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args()
    changed = 0
    for path in files(args.paths):
        result = rewrite_file(path)
        if result is None:
            continue
        old, new = result
        changed += 1
        for a, b in zip(old.split("\n"), new.split("\n"), strict=False):
            if a != b:
                print(f"{path.relative_to(ROOT)}:\n  - {a.strip()}\n  + {b.strip()}")
                break
        if args.write:
            path.write_text(new)
    print(f"{changed} files {'rewritten' if args.write else 'to rewrite'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
