#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the report's browser test (test/report/).
# Part of `npm test` (the pretest script), so a fresh machine needs nothing done by hand.
# Never downloads a browser build of its own (no `npx playwright install`): only apt.
#
# Exit status: 0 if chromium is (now) installed and runs; 1 with a message saying why not.
set -euo pipefail

have_chromium() {
  [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1
}

chromium_path() {
  if [ -x /usr/bin/chromium ]; then echo /usr/bin/chromium; else command -v chromium; fi
}

if ! have_chromium; then
  echo "ensure-chromium: chromium is missing; installing Debian's chromium package with apt-get (about a minute)..." >&2
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      SUDO=sudo
    else
      echo "ensure-chromium: error: chromium is not installed and this is not root (and sudo needs a password)." >&2
      echo "  fix: run 'sudo apt-get update && sudo apt-get install -y chromium', then npm test again" >&2
      exit 1
    fi
  else
    SUDO=
  fi
  log=$(mktemp "${TMPDIR:-/tmp}/ensure-chromium.XXXXXX.log")
  # Wait for other apt/dpkg runs on this machine rather than failing on their lock.
  apt_opts=(-q -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
  if ! { $SUDO apt-get "${apt_opts[@]}" update && \
         DEBIAN_FRONTEND=noninteractive $SUDO apt-get "${apt_opts[@]}" install -y --no-install-recommends chromium; } >"$log" 2>&1; then
    echo "ensure-chromium: error: 'apt-get install chromium' failed; the last lines of its output:" >&2
    tail -n 15 "$log" >&2
    echo "  fix: install Debian's chromium package by hand (apt-get install chromium); the browser test needs /usr/bin/chromium" >&2
    exit 1
  fi
  rm -f "$log"
fi

if ! have_chromium; then
  echo "ensure-chromium: error: chromium is still missing after apt-get install" >&2
  exit 1
fi

exe=$(chromium_path)
# (Debian's launcher script can print shell noise on stderr; the version is on stdout.)
if ! version=$("$exe" --version 2>/dev/null); then
  echo "ensure-chromium: error: $exe is installed but '$exe --version' fails" >&2
  exit 1
fi
echo "ensure-chromium: $version ($exe)" >&2
