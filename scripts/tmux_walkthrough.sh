#!/usr/bin/env bash
# Drive the real `python -m kiosk` in tmux through login and one enrollment with send-keys, saving
# each screen with capture-pane. Runs on a copy of config.toml in a temporary folder, so the
# simulated station starts clean (demo operator created at first start).
#
#   scripts/tmux_walkthrough.sh [OUT_DIR]      screens land in OUT_DIR (default: a temp folder)
#
# Needs tmux (Debian: apt-get install -y tmux). Uses $PYTHON (default: python3).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
OUT="${1:-$WORK/screens}"
mkdir -p "$OUT"
SESSION="kiosk-walk-$$"
cp "$ROOT/config.toml" "$WORK/config.toml"
# English for the walk-through (the operator's F2 switches language in the UI)
sed -i 's/^language = "id"/language = "en"/' "$WORK/config.toml"
NIK="${NIK:-3201015705900007}"

cleanup() { tmux kill-session -t "$SESSION" 2>/dev/null || true; }
trap cleanup EXIT

tmux new-session -d -s "$SESSION" -x 80 -y 24 \
  "cd '$ROOT' && PYTHONPATH='$ROOT' KIOSK_CONFIG='$WORK/config.toml' '$PYTHON' -m kiosk; sleep 30"

n=0
shot() {  # shot NAME: wait a moment, save the pane
  sleep "${2:-1.5}"
  n=$((n + 1))
  tmux capture-pane -p -t "$SESSION" > "$OUT/$(printf '%02d' $n)-$1.txt"
  echo "== $n $1"; cat "$OUT/$(printf '%02d' $n)-$1.txt"
}
# one key at a time with a short pause, as a person types (focus moves are handled between keys)
keys() { for k in "$@"; do tmux send-keys -t "$SESSION" "$k"; sleep 0.3; done; }
type_text() { tmux send-keys -t "$SESSION" -l "$1"; sleep 0.3; }

shot login 4
type_text demo; keys Enter; type_text demo1234; keys Enter
shot home 3
keys Escape   # a draft left by an earlier run would be offered here; start a new one instead
keys n
type_text "${NIK:0:8}"
shot nik-typing
type_text "${NIK:8}"
shot nik-valid
keys Enter
shot form
for v in "SITI AMINAH" "BOGOR"; do type_text "$v"; keys Tab; done
keys Tab Tab Tab   # birth date (from the NIK), sex, blood type
for v in "JL MAWAR 3" "001" "002" "PAKANSARI"; do type_text "$v"; keys Tab; done
keys Tab Tab       # religion, marital status
type_text "PETANI"
shot form-filled
keys C-s
shot face
keys F2
shot face-bahasa
keys F2
keys F4
shot home-after-leave
keys r
shot resume-offer
keys Enter
shot resumed
keys F4
shot home-again
keys F10
shot logged-out
echo "screens saved in $OUT"
