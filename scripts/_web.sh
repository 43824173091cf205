# Sourced by scripts/serve, scripts/test and .ci/run (after _bootstrap.sh): the web apps of web/ (docs/apps.md)
# need Node 20+ and npm. Dependencies are installed again only when web/package-lock.json changes; the build
# runs again only when web/ or the API document changed. Each step returns non-zero on failure (also where a
# caller's `||` turns off `set -e`).

have_node() {  # Node 20+ with npm on PATH
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
    node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null
}

node_hint() {
  echo "Ongi Field (/app/) needs Node.js 20 or newer with npm (Debian: apt-get install nodejs npm);" \
    "install them and run scripts/serve again. The API serves without them." >&2
}

ensure_web_deps() {  # npm ci in web/ when package-lock.json changed
  [ -f web/package-lock.json ] || { echo "web/package-lock.json is missing" >&2; return 1; }
  local stamp
  stamp="web/node_modules/.ongi-installed-$(sha256sum web/package-lock.json | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "installing web/ dependencies (npm ci)" >&2
    (cd web && npm ci --no-audit --no-fund --loglevel=error) >&2 || return 1
    touch "$stamp"
  fi
}

web_sources_hash() {  # what the build is made from: web/ (less what npm and the build write) and the API document
  {
    find web \( -path web/node_modules -o -path web/dist -o -path web/e2e/screenshots -o -path web/bench/results \) \
      -prune -o -type f -print
    echo openapi/openapi.json
  } | LC_ALL=C sort | xargs -d '\n' sha256sum 2>/dev/null | sha256sum | cut -c1-16
}

build_web() {  # npm run build in web/ unless the same sources were built already
  ensure_web_deps || return 1
  local stamp
  stamp="web/dist/.ongi-built-$(web_sources_hash)"
  if [ -f "$stamp" ] && [ -f web/dist/field/index.html ] && [ "${ONGI_WEB_REBUILD:-0}" != "1" ]; then
    return 0
  fi
  echo "building the web apps (npm run build in web/)" >&2
  (cd web && npm run build --silent) >&2 || return 1
  mkdir -p web/dist
  rm -f web/dist/.ongi-built-*
  touch "web/dist/.ongi-built-$(web_sources_hash)"  # after the build: it may write sources (generated types)
}
