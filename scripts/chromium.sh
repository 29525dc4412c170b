#!/usr/bin/env bash
# Debian's Chromium and its WebDriver (/usr/bin/chromium, /usr/bin/chromedriver) for the
# dashboard's browser tests (tests/integration/test_dashboard_browser.py, Selenium).
# Idempotent and quiet: nothing is done when both are installed; else apt-get installs
# them (root, or sudo). Prints the chromedriver path on stdout.
set -euo pipefail

say() { echo "chromium.sh: $*" >&2; }
die() { echo "chromium.sh: ERROR: $*" >&2; exit 1; }

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    echo /usr/bin/chromedriver
    exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "not root and no sudo: install chromium and chromium-driver by hand"
    SUDO=sudo
fi
say "installing chromium and chromium-driver with apt-get (once)"
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver; } \
        >"$log" 2>&1; then
    cat "$log" >&2
    die "apt-get could not install chromium and chromium-driver"
fi
[[ -x /usr/bin/chromedriver ]] || die "apt-get installed no /usr/bin/chromedriver"
echo /usr/bin/chromedriver
