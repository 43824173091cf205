# Sourced by scripts/serve and scripts/test: a virtual environment in .venv with the locked
# dependencies, installed again only when the lock file changes. Needs only Python 3.11+.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

find_python() {
  for candidate in "${ONGI_PYTHON:-}" python3.13 python3.12 python3.11 python3 python; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  echo "Ongi needs Python 3.11 or newer (set ONGI_PYTHON to its path)" >&2
  return 1
}

ensure_venv() {  # $1: lock file
  local lock="$1" stamp
  if [ ! -x .venv/bin/python ]; then
    local py; py="$(find_python)"
    echo "creating .venv with $py" >&2
    "$py" -m venv .venv
  fi
  stamp=".venv/.installed-$(basename "$lock")-$(sha256sum "$lock" | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "installing dependencies from $lock (first run takes about a minute)" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r "$lock" >&2
    rm -f .venv/.installed-"$(basename "$lock")"-*
    touch "$stamp"
  fi
}
