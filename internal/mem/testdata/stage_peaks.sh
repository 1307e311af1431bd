#!/bin/bash
# Peak RSS of real reel stage processes: an embedded NATS server plus one
# `reel stage X` process per stage, one job, then each process's VmHWM.
#
#   go build -o /tmp/reel ./cmd/reel
#   REEL=/tmp/reel FRAMES=768 STEPS=1 internal/mem/testdata/stage_peaks.sh
set -u
R=${REEL:-reel}; PORT=${PORT:-24987}; FRAMES=${FRAMES:-48}; STEPS=${STEPS:-30}
D=$(mktemp -d); N=nats://127.0.0.1:$PORT
$R server --data "$D/js" --port "$PORT" --log-level warn >"$D/server.log" 2>&1 &
S=$!
sleep 2
declare -A PIDS
for st in textenc denoise vaedecode encode; do
  extra=()
  [ "$st" = encode ] && extra=(--ffmpeg none --work-dir "$D")
  $R stage "$st" --nats "$N" --log-level warn "${extra[@]}" >"$D/$st.log" 2>&1 &
  PIDS[$st]=$!
done
sleep 2
job=$($R submit "a red circle moving right" --nats "$N" --frames "$FRAMES" --steps "$STEPS" 2>/dev/null | tail -1)
timeout 1200 $R watch "$job" --nats "$N" >"$D/watch.log" 2>&1
echo "job $job ($FRAMES frames, $STEPS steps): watch exit $?"
for st in textenc denoise vaedecode encode; do
  echo "$st: $(grep -E 'VmHWM' "/proc/${PIDS[$st]}/status" | tr -s ' \t' ' ')"
done
for st in textenc denoise vaedecode encode; do kill "${PIDS[$st]}"; done
kill "$S"
wait 2>/dev/null
rm -rf "$D"
