#!/usr/bin/env bash
# The project's test command (README quick start, CI). Installs what the tests
# need when it is missing and this user can (ffmpeg for ffprobe checks,
# chromium for the browser tests, Debian's PyTorch for the torch runner, node
# and the npm packages of the Node conformance client and of the OpenAI SDK
# test, the stock nats CLI, the staticcheck linter), then runs every check
# and test.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
# The PyTorch runner (runner/torch) and the reference transcription tests run
# Debian's torch under /usr/bin/python3.
/usr/bin/python3 -c 'import torch, numpy, msgpack' >/dev/null 2>&1 || need+=(python3-torch python3-numpy python3-msgpack)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "warning: missing ${need[*]}; tests that need them will be skipped" >&2
  fi
fi

# The Node conformance client (docs/protocol.md) and the official OpenAI Node
# SDK (conformance/openai, pinned by its package-lock.json) need their npm
# packages.
if command -v npm >/dev/null 2>&1; then
  [ -d conformance/node/node_modules ] || (cd conformance/node && npm ci --no-audit --no-fund --silent) ||
    echo "warning: npm ci failed; the Node conformance test will be skipped" >&2
  [ -f conformance/openai/node_modules/openai/package.json ] || (cd conformance/openai && npm ci --no-audit --no-fund --silent) ||
    echo "warning: npm ci failed; the OpenAI SDK test will be skipped" >&2
else
  echo "warning: missing node/npm; the Node conformance test will be skipped" >&2
fi
# The stock nats CLI, for the test that submits a job with `nats pub`.
if ! command -v nats >/dev/null 2>&1; then
  natsbin="${XDG_CACHE_HOME:-$HOME/.cache}/reel/natscli-$(cat scripts/natscli.version)"
  [ -x "$natsbin/nats" ] || { echo "installing the nats CLI (go install)"; GOBIN="$natsbin" go install "github.com/nats-io/natscli/nats@$(cat scripts/natscli.version)"; } ||
    echo "warning: could not install the nats CLI; its test will be skipped" >&2
fi

go vet ./...
go vet -tags purego ./model/kernels/
# go.mod lists exactly what the code imports, and the linter is clean.
go mod tidy -diff
staticcheck="${XDG_CACHE_HOME:-$HOME/.cache}/reel/staticcheck-$(cat scripts/staticcheck.version)"
[ -x "$staticcheck/staticcheck" ] || GOBIN="$staticcheck" go install "honnef.co/go/tools/cmd/staticcheck@$(cat scripts/staticcheck.version)"
"$staticcheck/staticcheck" ./...
go test -count=1 -timeout 40m ./...
# The pure-Go kernel fallback is a separate build; test it too.
go test -count=1 -tags purego ./model/kernels/
# A short fuzz pass over every parser that reads bytes from disk or the bus.
# Budgets are execution counts (about 10-15 s each here), not durations: at
# the end of a duration budget Go 1.26's fuzz coordinator can report its own
# deadline as a failure ("context deadline exceeded", no failing input;
# golang/go#75804, fixed in Go 1.27), which failed a CI run.
go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 400000x ./model/safetensors/
go test -run '^$' -fuzz '^FuzzUnmarshalEnvelope$' -fuzztime 400000x ./bus/protocol/
go test -run '^$' -fuzz '^FuzzTensor$' -fuzztime 300000x ./bus/protocol/
go test -run '^$' -fuzz '^FuzzDecodePrompt$' -fuzztime 300000x ./bus/protocol/
go test -run '^$' -fuzz '^FuzzUnmarshal$' -fuzztime 300000x ./bus/protocol/
