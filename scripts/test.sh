#!/usr/bin/env bash
# The project's test command (README quick start, CI). Installs what the tests
# need when it is missing and this user can (ffmpeg for ffprobe checks,
# chromium for the browser tests, node and the openai npm package for the
# OpenAI SDK conformance test), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need[*]} (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "warning: missing ${need[*]}; tests that need them will be skipped" >&2
  fi
fi

# The official OpenAI Node SDK, pinned by conformance/openai/package-lock.json.
if [ ! -f conformance/openai/node_modules/openai/package.json ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "installing the openai npm package (npm ci)"
    (cd conformance/openai && npm ci --no-audit --no-fund --loglevel=error)
  else
    echo "warning: missing npm; the OpenAI SDK test will be skipped" >&2
  fi
fi

go vet ./...
go vet -tags purego ./model/kernels/
go test -count=1 -timeout 40m ./...
# The pure-Go kernel fallback is a separate build; test it too.
go test -count=1 -tags purego ./model/kernels/
# A short fuzz pass over every parser that reads bytes from disk or the bus.
go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 15s ./model/safetensors/
go test -run '^$' -fuzz '^FuzzUnmarshalEnvelope$' -fuzztime 15s ./bus/protocol/
go test -run '^$' -fuzz '^FuzzTensor$' -fuzztime 10s ./bus/protocol/
