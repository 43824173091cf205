"""The access lint (``python -m app.access.lint``): no role or jurisdiction decision outside app/access/.

It runs on the tree (one test per package of app/, so a failure names the domain), and on small snippets
written to temporary files, bad ones it must report and good ones it must let pass, so that it can fail.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.access import lint

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(
    p.name for p in (ROOT / "app").iterdir() if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"
)


@pytest.mark.parametrize("package", PACKAGES)
def test_the_tree_decides_access_only_in_app_access(package: str) -> None:
    findings = lint.check_paths([ROOT / "app" / package])
    assert [str(f) for f in findings] == []


def _check(tmp_path: Path, source: str, name: str = "snippet.py") -> list[str]:
    file = tmp_path / name
    file.write_text(textwrap.dedent(source), encoding="utf-8")
    return [f"{f.line}:{f.code}" for f in lint.check_paths([file])]


BAD = {
    "role equality": ("if principal.role == Role.coordinator:\n    pass\n", ["1:ACC001"]),
    "role membership": ("ok = principal.role in (Role.coordinator, Role.planner)\n", ["1:ACC001"]),
    "role set constant": ("ok = principal.role not in READERS\n", ["1:ACC001"]),
    "org kind": ("public = principal.org_kind == OrgKind.public\n", ["1:ACC001"]),
    "role is": ("same = user.role is Role.admin\n", ["1:ACC001"]),
    "sql role filter": ("stmt = select(User).where(User.role == Role.planner)\n", ["1:ACC001"]),
    "sql role in_": ("stmt = select(User).where(User.role.in_([Role.planner]))\n", ["1:ACC001"]),
    "match on role": ("match principal.role:\n    case Role.admin:\n        pass\n", ["1:ACC001"]),
    "role_gate": ("Gate = Annotated[Principal, Depends(role_gate(Role.coordinator))]\n", ["1:ACC002"]),
    "require_roles": ("Gate = Depends(deps.require_roles(*WRITERS))\n", ["1:ACC002"]),
    "require_scope": ("Gate = Depends(require_scope('events:read'))\n", ["1:ACC002"]),
    "role in Depends": ("Gate = Depends(gate_for(Role.admin))\n", ["1:ACC003"]),
    "in_codes": ("inside = in_codes(dong, codes)\n", ["1:ACC004"]),
    "codes_within": ("inside = codes_within(codes, principal.jurisdiction)\n", ["1:ACC004"]),
    "in_jurisdiction": ("if not principal.in_jurisdiction(household.dong_code):\n    raise NotFound()\n", ["1:ACC004"]),
    "codes_clause of a jurisdiction": (
        "stmt = stmt.where(codes_clause(Household.dong_code, principal.jurisdiction))\n",
        ["1:ACC004"],
    ),
    "jurisdiction membership": ("if body.district not in principal.jurisdiction:\n    pass\n", ["1:ACC004"]),
    "jurisdiction like": (
        "clause = Household.dong_code.like(principal.jurisdiction[0] + '%')\n",
        ["1:ACC004"],
    ),
    "startswith over a jurisdiction": (
        "inside = any(code.startswith(c) for c in principal.jurisdiction)\n",
        ["1:ACC004"],
    ),
    "reported line": ("x = 1\n\n\nif (\n    principal.role\n    == Role.admin\n):\n    pass\n", ["5:ACC001"]),
}

GOOD = {
    "gate alias": "from app.access import gates\n\nasync def route(principal: gates.Coordinator) -> None:\n    pass\n",
    "policy call": "if not policy.may_manage_facilities(principal):\n    raise Forbidden()\n",
    "role as a value": "body = {'role': principal.role.value}\nlifetime = LIFETIMES[principal.role]\n",
    "role given or not": "if body.role is None:\n    pass\n",
    "area the caller named": "stmt = stmt.where(codes_clause(Visit.dong_code, [filters.dong_code]))\n",
    "jurisdiction copied": "codes = list(user.jurisdiction if user.jurisdiction is not None else org.jurisdiction)\n",
    "allowed exception": "ttl = 5 if principal.role == Role.integration else 15  # access: a token lifetime\n",
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_decision_outside_access_is_reported(tmp_path: Path, case: str) -> None:
    source, expected = BAD[case]
    assert _check(tmp_path, source) == expected


@pytest.mark.parametrize("case", sorted(GOOD))
def test_what_is_not_a_decision_passes(tmp_path: Path, case: str) -> None:
    assert _check(tmp_path, GOOD[case]) == []


def test_an_exception_needs_a_reason(tmp_path: Path) -> None:
    assert _check(tmp_path, "ok = principal.role == Role.admin  # access:\n") == ["1:ACC001"]


def test_the_access_package_and_seed_data_are_not_checked(tmp_path: Path) -> None:
    for folder in ("app/access", "app/demo", "migrations/versions"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "rules.py").write_text("ok = principal.role == Role.admin\n", encoding="utf-8")
    (tmp_path / "app/visits").mkdir(parents=True)
    (tmp_path / "app/visits/routes.py").write_text("ok = principal.role == Role.admin\n", encoding="utf-8")
    found = lint.check_paths([tmp_path])
    assert [(Path(f.path).relative_to(tmp_path).as_posix(), f.line, f.code) for f in found] == [
        ("app/visits/routes.py", 1, "ACC001")
    ]


def test_the_command_exits_1_with_the_list_and_0_when_clean(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("ok = principal.role == Role.admin\n", encoding="utf-8")
    good = tmp_path / "good.py"
    good.write_text("ok = policy.may_x(principal)\n", encoding="utf-8")
    run = [sys.executable, "-m", "app.access.lint"]
    failed = subprocess.run([*run, str(bad), str(good)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert failed.returncode == 1
    assert failed.stdout.splitlines() == [
        f"{bad}:1: ACC001 role comparison outside app.access (name a decision in app/access/)"
    ]
    passed = subprocess.run([*run, str(good)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert (passed.returncode, passed.stdout) == (0, "")
