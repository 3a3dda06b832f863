#!/bin/sh
# The TCP-handle spike's measurements (bench/README.md, "A JavaScript transport on the TCP handle"):
# idle memory per connection at 10,000 after 30 s idle (bench/native-spike/run.mjs, which builds
# its addon to read the C heap), then instructions per echo message under callgrind
# (bench/tools/instructions.mjs, C generator, 32 B x 100 connections x 4 in flight), RUNS rounds
# of every server, interleaved. Needs `npm run build` and valgrind. About 25 minutes.
# Usage: sh bench/handle-spike/run.sh [RUNS]
set -e
cd "$(dirname "$0")/../.."
RUNS=${1:-2}
node bench/native-spike/run.mjs --only handle,switchboard,bare,net,uws --settle 30000
for round in $(seq "$RUNS"); do
  for impl in handle switchboard net uws; do node bench/tools/instructions.mjs --impl "$impl"; done
  HANDLE_FRESH_READS=1 node bench/tools/instructions.mjs --impl handle | sed 's/"impl":"handle"/"impl":"handle, fresh buffer per read"/'
done
