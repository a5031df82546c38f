#!/bin/sh
# Brings a checkout to a runnable state, doing only what is missing:
#   1. the system packages FUSE needs at run time (Debian: fuse for fusermount,
#      libfuse2 for fuse-native), installed with apt-get when running as root;
#   2. node_modules, with `npm ci`, when absent or older than package-lock.json;
#   3. fuse-native's binding with raidfs's changes (native/fuse-binding.mjs) and
#      raidfs's addon (native/addon-binding.mjs), when the ones built are not made
#      from the current native/ sources;
#   4. the build (dist/), when absent or older than any source or .proto file.
# With --tests it also installs what the test suite needs: rsync (drives the mount)
# and Debian's chromium (the dashboard's browser test).
# Quiet when there is nothing to do.
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

missing=""
command -v fusermount >/dev/null 2>&1 || missing="$missing fuse"
ldconfig -p 2>/dev/null | grep -q 'libfuse.so.2' || missing="$missing libfuse2"
if [ "$1" = "--tests" ]; then
  command -v rsync >/dev/null 2>&1 || missing="$missing rsync"
  [ -x /usr/bin/chromium ] || missing="$missing chromium"
fi
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "raidfs setup: installing$missing (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "raidfs setup: missing system packages; install them first: sudo apt-get install$missing" >&2
    exit 1
  fi
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "raidfs setup: installing npm packages (npm ci; builds better-sqlite3, about a minute)"
  npm ci --no-audit --no-fund --loglevel=error
fi
node native/fuse-binding.mjs
node native/addon-binding.mjs

if [ ! -f dist/.build-stamp ] || [ -n "$(find src proto scripts test bench package.json tsconfig.json -newer dist/.build-stamp -print -quit)" ]; then
  echo "raidfs setup: building"
  npm run --silent build
fi
