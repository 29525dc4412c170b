#!/usr/bin/env bash
# Create the project virtualenv (.venv at the repo root) and install Kafkube with its test
# extras: pip install -e '.[test]'. Re-running is quick: the install is skipped while
# pyproject.toml is unchanged since the last successful install.
#   PYTHON=python3.12 scripts/venv.sh   to choose the interpreter (3.11+)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.kafkube-installed"
VLOG=$(mktemp)
trap 'rm -f "$VLOG"' EXIT

say() { echo "venv.sh: $*" >&2; }
die() { echo "venv.sh: ERROR: $*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null || die "$PYTHON not found: install Python 3.11+ (apt-get install python3 python3-venv)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "$("$PYTHON" -V 2>&1) is too old: Kafkube needs Python 3.11+ (set PYTHON=...)"

make_venv() {
    "$PYTHON" -m venv "$VENV" >"$VLOG" 2>&1
}

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
    say "creating $VENV"
    rm -rf "$VENV"
    if ! make_venv; then
        rm -rf "$VENV"
        # Debian/Ubuntu ship venv's ensurepip separately.
        if [[ "${CI:-}" == "true" && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
            say "python venv support missing; installing python3-venv (apt-get)"
            if [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 -print -quit 2>/dev/null)" ]]; then
                DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
            fi
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null ||
                die "apt-get install python3-venv failed"
            make_venv || { cat "$VLOG" >&2; rm -rf "$VENV"; die "python3 -m venv failed"; }
        else
            cat "$VLOG" >&2
            die "python3 -m venv failed: on Debian/Ubuntu install python3-venv (apt-get install python3-venv)"
        fi
    fi
    rm -f "$VLOG"
fi

want=$(cd "$ROOT" && sha256sum pyproject.toml | cut -d' ' -f1)
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
    exit 0
fi

say "installing kafkube[test] into $VENV"
rm -f "$STAMP"
log="$VENV/pip-install.log"
export PIP_DISABLE_PIP_VERSION_CHECK=1
if ! (cd "$ROOT" && "$VENV/bin/python" -m pip install -q --upgrade pip >"$log" 2>&1 &&
        "$VENV/bin/python" -m pip install -q -e '.[test]' >>"$log" 2>&1); then
    echo "----- last lines of $log -----" >&2
    tail -n 40 "$log" >&2
    die "pip install -e '.[test]' failed (see above)"
fi
echo "$want" >"$STAMP"
say "done"
