#!/usr/bin/env bash
# Fresh Debian 12 → a usable nettool: installs every package the project
# needs (scripts/install-deps.sh), builds a Release binary into build/ and
# links it into /usr/local/bin when that is writable.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build

if [ -w /usr/local/bin ]; then
  ln -sf "$PWD/build/nettool" /usr/local/bin/nettool
  echo "nettool installed: /usr/local/bin/nettool -> $PWD/build/nettool"
else
  echo "nettool built: $PWD/build/nettool"
fi
