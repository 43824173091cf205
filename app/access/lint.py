"""The access lint: no role or jurisdiction decision outside :mod:`app.access` (``docs/access.md``).

``python -m app.access.lint [paths…]`` (default ``app``) parses every Python file under the paths and reports
``file:line: code message`` for each access decision written outside the access package, then exits 1; it
exits 0 when it finds none. What it reports:

* ``ACC001`` a comparison (``==``, ``!=``, ``in``, ``not in``, ``is``, ``is not``, a ``match`` on it, or the SQL
  forms ``.in_(`` / ``.not_in(`` / ``.is_(`` / ``.is_not(``) where either side mentions ``Role.<x>`` or an
  attribute ``.role`` / ``.org_kind``;
* ``ACC002`` a call of a gate factory (``role_gate``, ``require_roles``, ``require_scope``): routes name the
  aliases of :mod:`app.access.gates` instead;
* ``ACC003`` ``Role.<x>`` inside a ``Depends(...)``;
* ``ACC004`` a jurisdiction check: a call of ``in_codes``, ``codes_within`` or ``.in_jurisdiction(``;
  ``codes_clause(…)`` given a ``.jurisdiction``; or an attribute ``.jurisdiction`` in a membership test
  (``in``, ``not in``) or a filter (``like``, ``ilike``, ``startswith``, ``in_``), also through a comprehension
  that iterates over it.

Comparisons with ``None`` (``body.role is None``) are not decisions and are not reported. Files under
``app/access/`` (where these decisions belong), ``app/demo/`` (seed data), ``migrations/`` and the principal
itself (``app/core/principal.py``: the roles and code helpers access builds on) are
not checked. A line may carry an allowed exception with an inline comment ``# access: <reason>`` (sparingly: e.g. the
token lifetime a role's token gets is not an access decision). Like polar's org-scope linter, this is a build
gate: ``scripts/lint`` and CI run it.
"""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: Gate factories no module outside app.access may call.
GATE_FACTORIES = frozenset({"role_gate", "require_roles", "require_scope"})
#: Jurisdiction helpers no module outside app.access may call.
JURISDICTION_CALLS = frozenset({"in_codes", "codes_within", "in_jurisdiction"})
#: Area clauses: reported when given a jurisdiction (``codes_clause(Household.dong_code, principal.jurisdiction)``);
#: a filter by an area the caller named (``codes_clause(Visit.dong_code, [dong_code])``) is not a decision.
AREA_CLAUSES = frozenset({"codes_clause"})
#: Attributes that carry a role (``principal.role``, ``User.role``, ``principal.org_kind``).
ROLE_ATTRIBUTES = frozenset({"role", "org_kind"})
#: SQL comparison methods (``User.role.in_([...])``).
SQL_COMPARISONS = frozenset({"in_", "not_in", "notin_", "is_", "is_not", "isnot"})
#: Filters that test an administrative code against a jurisdiction.
CODE_FILTERS = frozenset({"like", "ilike", "startswith", "in_", "not_in", "notin_"})
#: Path parts (relative folder pairs) whose files are not checked: the access package, seed data, and the
#: principal itself (the ground-floor vocabulary the access package builds on: roles, ``in_codes``).
EXCLUDED: tuple[tuple[str, ...], ...] = (
    ("app", "access"),
    ("app", "demo"),
    ("app", "core", "principal.py"),
)
EXCLUDED_DIRS = frozenset({"migrations", "__pycache__", ".venv"})
ALLOW = "# access:"


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.code} {self.message}"


def _mentions_role(node: ast.AST) -> bool:
    """Whether ``node`` mentions ``Role.<x>`` or an attribute ``.role`` / ``.org_kind`` anywhere inside."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute):
            if sub.attr in ROLE_ATTRIBUTES:
                return True
            if isinstance(sub.value, ast.Name) and sub.value.id == "Role":
                return True
    return False


def _mentions_jurisdiction(node: ast.AST) -> bool:
    return any(isinstance(sub, ast.Attribute) and sub.attr == "jurisdiction" for sub in ast.walk(node))


def _mentions_role_member(node: ast.AST) -> bool:
    return any(
        isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id == "Role"
        for sub in ast.walk(node)
    )


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _calls_gate_factory(node: ast.AST) -> bool:
    return any(isinstance(sub, ast.Call) and _called_name(sub) in GATE_FACTORIES for sub in ast.walk(node))


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _tests_code(node: ast.AST) -> bool:
    """Whether ``node`` holds a comparison or a code filter (the body of a comprehension over a jurisdiction)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Compare):
            return True
        if isinstance(sub, ast.Call) and _called_name(sub) in CODE_FILTERS:
            return True
    return False


class _Visitor(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: list[tuple[int, str, str]] = []

    def _add(self, node: ast.AST, code: str, message: str) -> None:
        self.found.append((getattr(node, "lineno", 0), code, message))

    def visit_Compare(self, node: ast.Compare) -> None:
        sides = [node.left, *node.comparators]
        if all(_is_none(side) for side in node.comparators):
            pass  # ``x.role is None``: whether a value was given, not a decision
        elif any(_mentions_role(side) for side in sides):
            self._add(node, "ACC001", "role comparison outside app.access (name a decision in app/access/)")
        elif any(isinstance(op, ast.In | ast.NotIn) for op in node.ops) and any(
            _mentions_jurisdiction(side) for side in sides
        ):
            self._add(node, "ACC004", "jurisdiction comparison outside app.access")
        self.generic_visit(node)

    def visit_Match(self, node: ast.Match) -> None:
        if _mentions_role(node.subject) or any(_mentions_role_member(case.pattern) for case in node.cases):
            self._add(node, "ACC001", "match on a role outside app.access")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _called_name(node)
        receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
        operands: list[ast.AST] = [*node.args, *(kw.value for kw in node.keywords)]
        if name in GATE_FACTORIES:
            self._add(node, "ACC002", f"{name}() outside app.access (use an alias of app.access.gates)")
        elif name == "Depends" and any(_mentions_role_member(arg) for arg in operands):
            if not any(_calls_gate_factory(arg) for arg in operands):  # that call is reported itself
                self._add(node, "ACC003", "Role.<x> inside Depends(...) (use an alias of app.access.gates)")
        elif name in JURISDICTION_CALLS:
            self._add(node, "ACC004", f"jurisdiction check {name}() outside app.access")
        elif name in AREA_CLAUSES and any(_mentions_jurisdiction(arg) for arg in operands):
            self._add(node, "ACC004", f"jurisdiction filter {name}(…, ….jurisdiction) outside app.access")
        elif name in SQL_COMPARISONS and receiver is not None and _mentions_role(receiver):
            self._add(node, "ACC001", f"role comparison .{name}() outside app.access")
        elif (
            name in CODE_FILTERS
            and receiver is not None
            and any(_mentions_jurisdiction(part) for part in [receiver, *operands])
        ):
            self._add(node, "ACC004", f"jurisdiction filter .{name}() outside app.access")
        self.generic_visit(node)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        over = [gen.iter for gen in node.generators]
        if any(_mentions_jurisdiction(it) for it in over):
            body: list[ast.AST] = [cond for gen in node.generators for cond in gen.ifs]
            body.extend([node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt])
            if any(_tests_code(part) for part in body):
                self._add(node, "ACC004", "jurisdiction check over .jurisdiction outside app.access")
        self.generic_visit(node)

    visit_ListComp = _comprehension
    visit_SetComp = _comprehension
    visit_GeneratorExp = _comprehension
    visit_DictComp = _comprehension


def _allowed_lines(source: str) -> set[int]:
    """The lines carrying an ``# access: <reason>`` comment (a reason is required)."""
    lines: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT and tok.string.startswith(ALLOW) and tok.string[len(ALLOW) :].strip():
                lines.add(tok.start[0])
    except (tokenize.TokenError, SyntaxError):
        pass
    return lines


def check_source(source: str, path: str = "<string>") -> list[Finding]:
    """The findings of one module's source (without the allowed exceptions)."""
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        return [Finding(path, exc.lineno or 0, "ACC000", f"cannot parse: {exc.msg}")]
    visitor = _Visitor()
    visitor.visit(tree)
    allowed = _allowed_lines(source)
    unique = {(line, code, message) for line, code, message in visitor.found if line not in allowed}
    return sorted(Finding(path, line, code, message) for line, code, message in unique)


def _excluded(path: Path) -> bool:
    parts = path.resolve().parts
    if EXCLUDED_DIRS & set(parts):
        return True
    return any(parts[i : i + len(part)] == part for part in EXCLUDED for i in range(len(parts)))


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    for given in paths:
        path = Path(given)
        candidates = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in candidates:
            if file.suffix == ".py" and not _excluded(file):
                yield file


def check_paths(paths: Iterable[str | Path]) -> list[Finding]:
    findings: list[Finding] = []
    for file in iter_files(paths):
        findings.extend(check_source(file.read_text(encoding="utf-8"), str(file)))
    return findings


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    paths = args or ["app"]
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        print(f"access lint: no such path: {', '.join(missing)}", file=sys.stderr)
        return 2
    findings = check_paths(paths)
    for finding in findings:
        print(finding)
    if findings:
        print(f"access lint: {len(findings)} access decision(s) outside app/access/", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
