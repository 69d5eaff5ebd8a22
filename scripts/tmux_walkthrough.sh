#!/usr/bin/env bash
# Drive the real `python -m kiosk` in tmux through login, one complete enrollment on the simulated
# station (face, ten fingers, both irises, signature), its upload and approval, and the card print, with
# send-keys, saving each screen with capture-pane. Runs on a copy of
# config.toml in a temporary folder, so the simulated station starts clean (demo operator created
# at first start). Each step waits until the expected words are on the screen (or fails).
#
#   scripts/tmux_walkthrough.sh [OUT_DIR]      screens land in OUT_DIR (default: a temp folder)
#
# Needs tmux (Debian: apt-get install -y tmux). Uses $PYTHON (default: python3).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
OUT="${1:-$WORK/screens}"
QUIET="${QUIET:-0}"
mkdir -p "$OUT"
SESSION="kiosk-walk-$$"
cp "$ROOT/config.toml" "$WORK/config.toml"
# English for the walk-through (the operator's F2 switches language in the UI)
sed -i 's/^language = "id"/language = "en"/' "$WORK/config.toml"
NIK="${NIK:-3201015705900007}"

cleanup() { tmux kill-session -t "$SESSION" 2>/dev/null || true; rm -rf "$WORK/var"; }
trap cleanup EXIT

# the blank cards delivered with the station, booked before the first print (no card prints
# while the station's book holds none)
(cd "$ROOT" && PYTHONPATH="$ROOT" KIOSK_CONFIG="$WORK/config.toml" "$PYTHON" -m kiosk stock add 100 >/dev/null)

tmux new-session -d -s "$SESSION" -x 80 -y 24 \
  "cd '$ROOT' && PYTHONPATH='$ROOT' KIOSK_CONFIG='$WORK/config.toml' '$PYTHON' -m kiosk; sleep 60"

n=0
NL=$'\n'
shot() {  # shot NAME TEXT: wait (up to 20 s) until TEXT is on the screen, then save the pane
  # (TEXT may list alternatives separated by "|": any one of them will do)
  local name="$1" text="$2" file
  n=$((n + 1))
  file="$OUT/$(printf '%02d' $n)-$name.txt"
  for _ in $(seq 1 100); do
    tmux capture-pane -p -t "$SESSION" > "$file"
    if grep -qF -e "${text//|/$NL}" "$file"; then
      [ "$QUIET" = 1 ] || { echo "== $n $name"; cat "$file"; }
      # a person reads the screen before the next key; a key sent within milliseconds of a screen
      # switch can reach the screen being removed and be dropped
      sleep 0.5
      return 0
    fi
    sleep 0.2
  done
  echo "walkthrough: step $name never showed '$text'; screen was:" >&2
  cat "$file" >&2
  exit 1
}
# one key at a time with a short pause, as a person types (focus moves are handled between keys)
keys() { for k in "$@"; do tmux send-keys -t "$SESSION" "$k"; sleep 0.2; done; }
type_text() { tmux send-keys -t "$SESSION" -l "$1"; sleep 0.2; }

shot login "demo operator"
type_text demo; keys Enter; type_text demo1234; keys Enter
shot home "Enroll"
keys n
type_text "${NIK:0:8}"
shot nik-typing "8 of 16 digits"
type_text "${NIK:8}"
shot nik-valid "NIK valid"
keys Enter
shot form "Fields marked * are"
for v in "SITI AMINAH" "BOGOR"; do type_text "$v"; keys Tab; done
keys Tab Tab Tab   # birth date (from the NIK), sex, blood type
for v in "JL MAWAR 3" "001" "002" "PAKANSARI"; do type_text "$v"; keys Tab; done
keys Tab Tab       # religion, marital status
type_text "PETANI"
shot form-filled "PETANI"
keys C-s
shot face " Face "
keys F2
shot face-bahasa " Wajah "
keys F2
shot face-english " Face "
keys F4
shot home-after-leave "draft              1"
keys r
shot resume-offer "SITI AMINAH"
keys Enter
shot resumed " Face "
# the camera mock's resident faces the camera as the rules want: auto-capture keeps the photo
shot face-captured "Photo saved"
keys C-s
shot fingers "Attempts left"
for f in "Right thumb" "Right index" "Right middle" "Right ring" "Right little" \
         "Left thumb" "Left index" "Left middle" "Left ring" "Left little"; do
  keys c
  shot "finger" "Last capture: $f, NFIQ 2"
done
keys C-s   # the wrong-finger check (bozorth3 over every pair) runs before the step is left
shot irises "look into the iris device"
keys c     # the SBI iris emulator answers both eyes, signed
shot irises-captured "The eyes are done"
keys C-s
shot signature-ink "pen points received"
# a person lets the resident finish before accepting: the ink must be a signature's, not the first
# strokes (Ctrl+A on a few dozen points is refused as too small, and the walkthrough then waited)
for _ in $(seq 1 100); do
  tmux capture-pane -p -t "$SESSION" | grep -qE '([3-9][0-9]{2}|[0-9]{4,}) pen points received' && break
  sleep 0.2
done
keys C-a
shot signature-saved "Signature saved"
keys C-s
shot review "Complete: press Ctrl+S"
keys C-s
shot home-queued "Enroll"
keys u
# the sync worker started with the app uploads the record; the local central approves it
shot queue "Online"
shot queue-approved "approved"
keys Escape
shot home-back "Enroll"
keys p
shot print "SITI AMINAH"
keys v
sleep 2
shot print-preview "SITI AMINAH"
keys p
# the card prints on the Evolis mock under the central's permit
shot printed "printed (job"
keys Escape
shot home-again "Enroll"
keys F10
shot logged-out "Logged out"
echo "screens saved in $OUT"
