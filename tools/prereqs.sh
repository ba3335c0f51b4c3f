#!/bin/sh
# `make prereqs`: what a fresh clone needs before `make setup`, one line per thing missing.
# Python 3.11 or newer (with venv), Node.js 20 or newer and npm (for Azurite, the lab's Blob
# Storage). Exits 1 after naming everything missing, so one run lists it all.
# Usage: tools/prereqs.sh PYTHON
python=${1:-python3}
missing=0
say() { echo "prereqs: $*" >&2; missing=1; }

if ! command -v "$python" >/dev/null 2>&1; then
  say "Python 3.11 or newer is needed as '$python' (not found): install it (python.org, pyenv or your package manager), or run make PYTHON=/path/to/python3.11"
elif ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  say "Python 3.11 or newer is needed; '$python' is $("$python" -c 'import platform; print(platform.python_version())' 2>/dev/null): install 3.11, or run make PYTHON=/path/to/python3.11"
elif ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
  say "'$python' cannot create a venv (no ensurepip): install your distribution's python3-venv package"
fi

if ! command -v node >/dev/null 2>&1; then
  say "Node.js 20 or newer is needed for Azurite, the lab's Blob Storage (node: not found): install Node 20 LTS (nodejs.org, nvm or your package manager)"
else
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "${major:-0}" -lt 20 ] 2>/dev/null; then
    say "Node.js 20 or newer is needed for Azurite; node is $(node --version 2>/dev/null): install Node 20 LTS (nodejs.org, nvm or your package manager)"
  fi
fi
if ! command -v npm >/dev/null 2>&1; then
  say "npm is needed to install Azurite from package-lock.json (npm: not found): it comes with Node.js; some distributions package it separately (npm)"
fi

exit $missing
