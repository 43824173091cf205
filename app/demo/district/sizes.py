"""The two sizes of the winter district (docs/performance.md#budget) and what one generation reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

DEFAULT_SEED = 11990


@dataclass(frozen=True)
class SizeSpec:
    dongs: int
    households: int
    planners: int  # including the demo login
    partners: int  # including the demo login
    reporters: int  # including the demo login
    visits: int
    notes: int
    photos: int
    cases: int
    supports: int
    bench_templates: bool


SIZES: dict[str, SizeSpec] = {
    "small": SizeSpec(
        dongs=4,
        households=160,
        planners=5,
        partners=4,
        reporters=3,
        visits=480,
        notes=800,
        photos=160,
        cases=10,
        supports=70,
        bench_templates=False,
    ),
    "full": SizeSpec(
        dongs=12,
        households=3000,
        planners=40,
        partners=20,
        reporters=13,
        visits=9000,
        notes=20000,
        photos=6000,
        cases=150,
        supports=1500,
        bench_templates=True,
    ),
}


@dataclass
class Stats:
    size: str
    seed: int
    today: date
    skipped: bool = False
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.skipped:
            return f"winter district already present (size {self.size} not generated)"
        parts = ", ".join(f"{k} {v:,}" for k, v in self.counts.items())
        return f"winter district {self.size} (seed {self.seed}, {self.today}) in {self.seconds:.1f}s: {parts}"
