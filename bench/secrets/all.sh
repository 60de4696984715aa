#!/bin/sh
# One command for the whole secrets benchmark: the tuning corpus (mode A), the held-out corpus (mode B) and the
# negative corpus, each scanned side by side by launchready, gitleaks and kingfisher. Corpora are generated once
# under $BENCH (default /tmp) and reused; results go to $BENCH/secbench-{a,b,neg}-results.md (+ .log, -reports/).
#
#   cargo build --release -p launchready && sh bench/secrets/all.sh [REPEAT]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BENCH=${BENCH:-/tmp}
BIN=${LAUNCHREADY:-$root/target/release/launchready}
REPEAT=${1:-3}
TOOLS=${TOOLS:-launchready,gitleaks,kingfisher}

# Mode B's host trees: a Python and an npm project, different from the negative corpus's packages.
if [ ! -d "$BENCH/hostB/py" ]; then
    python3 -m pip install --quiet --no-deps --target "$BENCH/hostB/py" \
        fastapi starlette httpx rich celery kombu pyyaml httpcore anyio
fi
if [ ! -d "$BENCH/hostB/npm/node_modules" ]; then
    mkdir -p "$BENCH/hostB/npm"
    (cd "$BENCH/hostB/npm" && npm init -y >/dev/null && \
        npm install --no-audit --no-fund lodash moment express-session passport nodemailer mongoose commander yargs)
fi
[ -d "$BENCH/secbench-a/repo" ] || python3 "$here/generate.py" "$BENCH/secbench-a" --size-mb 200
[ -d "$BENCH/secbench-b/repo" ] || python3 "$here/generate.py" "$BENCH/secbench-b" --mode B --size-mb 150 \
    --source "$BENCH/hostB/py" --source "$BENCH/hostB/npm"
[ -d "$BENCH/secbench-neg/tree" ] || python3 "$here/negative.py" build "$BENCH/secbench-neg"

python3 "$here/run.py" "$BENCH/secbench-a" --launchready "$BIN" --tools "$TOOLS" --repeat "$REPEAT" \
    --out "$BENCH/secbench-a-results.md"
python3 "$here/run.py" "$BENCH/secbench-b" --launchready "$BIN" --tools "$TOOLS" --repeat "$REPEAT" \
    --out "$BENCH/secbench-b-results.md"
python3 "$here/negative.py" run "$BENCH/secbench-neg" --launchready "$BIN" --tools "$TOOLS" --repeat "$REPEAT" \
    --out "$BENCH/secbench-neg-results.md"
