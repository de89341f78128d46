#!/usr/bin/env bash
# tests/golden/regenerate.sh - rewrites tests/golden/payloads.sha1: the SHA-1 of
# each named payload's protocol-4 pickle at seed 0, as `sha1sum` prints it.
# Run it (after `make`) only when a generator is changed on purpose, and say
# why in the commit: these digests are what catch accidental drift.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${CASBENCH:-build/casbench}
for p in config metrics embeddings weights random tokens sparse; do
  echo "$("$bin" pickle "$p" --protocol 4 --seed 0 | sha1sum | cut -d' ' -f1)  $p"
done > tests/golden/payloads.sha1
