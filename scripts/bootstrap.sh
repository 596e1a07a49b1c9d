#!/usr/bin/env bash
# Installs what govcloud_eval needs and is missing: Debian packages (as root, through apt-get;
# otherwise it says what to install), the virtualenv, the Python packages, compiled translations.
# Usage: scripts/bootstrap.sh run|test   (test adds Chromium and the PDF tools the tests use)
# Safe to run any number of times: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-run}"
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }

# Pango renders the PDFs, libharfbuzz-subset0 makes CJK font subsetting ~50x faster than
# WeasyPrint's silent fontTools fallback, fonts-noto-cjk gives Simplified Chinese glyphs,
# gettext compiles the translations.
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk fontconfig gettext)
# clamav-daemon: the malware-scan tests start their own clamd with a test signature database.
if [ "$mode" = test ]; then
  packages+=(chromium poppler-utils clamav-daemon)
fi

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      say "Installing system packages: ${missing[*]}"
      apt_install "${missing[@]}"
    else
      die "missing system packages: ${missing[*]}
Install them, then run this again:
    sudo apt-get install -y ${missing[*]}"
    fi
  fi
else
  printf 'Not a Debian system: make sure Pango (>= 1.44), HarfBuzz with its subset library,\n'
  printf 'Noto CJK SC fonts and gettext are installed%s.\n' \
    "$([ "$mode" = test ] && echo ', plus Chromium at /usr/bin/chromium, poppler-utils and clamd (ClamAV)')"
fi

python="${PYTHON:-python3}"
command -v "$python" >/dev/null 2>&1 || die "$python not found: install Python 3.11 or newer."
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "Python 3.11 or newer is needed; $python is $("$python" --version 2>&1)."

if [ ! -x .venv/bin/python ]; then
  say "Creating the virtualenv in .venv"
  if ! "$python" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt_install python3-venv
      "$python" -m venv .venv
    else
      die "$python cannot create a virtualenv: install python3-venv (sudo apt-get install -y python3-venv)."
    fi
  fi
fi

# Reinstall only when pyproject.toml changed since the last successful install.
stamp=.venv/.installed-from-pyproject
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "Installing Python packages (pyproject.toml)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[dev]"
  touch "$stamp"
fi

# Compile translations whenever a .po file is newer than its .mo.
for po in locale/*/LC_MESSAGES/django.po; do
  [ -f "$po" ] || continue
  mo="${po%.po}.mo"
  if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then
    say "Compiling translations ($po)"
    msgfmt --check -o "$mo" "$po"
  fi
done
