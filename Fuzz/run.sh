#!/usr/bin/env bash
# Coverage-guided fuzzing of what users hand Cadenza: libFuzzer, with AddressSanitizer, over the
# MIDI reader and writer and both tokenizers (Fuzz/MIDIFiles.swift), the piano roll and the
# synthesiser on whatever MIDI reads (Fuzz/Pictures.swift), the safetensors and .npy
# readers (Fuzz/ModelFiles.swift), and vocabularies, tokenizer and model configs, decoding
# choices, the text of --key and --chords, and corpus lists (Fuzz/Settings.swift). Each target
# must never trap; a crash leaves its input as WORK/<target>/crash-* and fails the script. Not
# part of CI (its build alone takes minutes): run it after changing a reader. docs/limits.md
# has what it found.
#
# Usage: Fuzz/run.sh [SECONDS per target, default 300] [WORK folder, default /tmp/cadenza-fuzz]
#                    [MIDI seed folder, default ../shared/data/pop909]
# Needs only the Swift toolchain (its libFuzzer and AddressSanitizer runtimes).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
work=${2:-/tmp/cadenza-fuzz}
midi=${3:-../shared/data/pop909}
scratch=.build/fuzz
mkdir -p "$work"

# The library targets, instrumented; each harness links their objects.
swift build -c release --scratch-path "$scratch" --target Training \
  -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address
built=$scratch/release
objects=()
for module in Basics MIDI REMI Tensor TensorKernels Models Plot Corpus Generation; do
  objects+=("$built/$module.build/"*.o)
done
for target in MIDIFiles Pictures ModelFiles Settings; do
  swiftc -sanitize=fuzzer,address -parse-as-library -O -g -I "$built/Modules" \
    -Xcc -fmodule-map-file="$built/TensorKernels.build/module.modulemap" -Xcc -ISources/TensorKernels/include \
    "Fuzz/$target.swift" "${objects[@]}" -o "$work/fuzz-$target" 2>&1 | { grep -v warning || true; }
  mkdir -p "$work/$target/seeds" "$work/$target/corpus"
done

# Seeds: the smallest MIDI files of the seed folder; small safetensors and .npy files written
# here; the bundled models' settings, each behind the byte that selects its kind.
if [ -d "$midi" ]; then
  ls -S "$midi"/*.mid 2>/dev/null | tail -20 | while read -r f; do cp "$f" "$work/MIDIFiles/seeds/"; done
  cp "$work/MIDIFiles/seeds/"* "$work/Pictures/seeds/" 2>/dev/null || true
fi
le64() { local n=$1; for _ in 1 2 3 4 5 6 7 8; do printf "\\$(printf %03o $((n & 255)))"; n=$((n >> 8)); done; }
safetensors() {
  local header=$1 data=$2
  { le64 ${#header}; printf '%s' "$header"; printf "$data"; } > "$3"
}
seeds=$work/ModelFiles/seeds
safetensors '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]},"__metadata__":{"config":"{}"}}' \
  '\000\000\200\077\000\000\000\100\000\074\000\300' "$seeds/one.safetensors"
safetensors '{"w":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}' '\200\077' "$seeds/two.safetensors"
npy() {
  local header="{'descr': '$1', 'fortran_order': False, 'shape': ($2,), }"
  { printf '\223NUMPY\001\000'; printf "\\$(printf %03o ${#header})\\000"; printf '%s' "$header"; printf "$3"; } > "$4"
}
npy '<i4' 2 '\001\000\000\000\002\000\000\000' "$seeds/i4.npy"
npy '<i8' 1 '\007\000\000\000\000\000\000\000' "$seeds/i8.npy"
seeds=$work/Settings/seeds
for model in Pretrained Pop; do
  { printf '\000'; cat "Sources/cadenza/Resources/$model/vocab.json"; } > "$seeds/vocab-$model"
  { printf '\002'; cat "Sources/cadenza/Resources/$model/model.json"; } > "$seeds/model-$model"
done
printf '\001%s' '{"beatsPerBar": 3, "chords": true, "controls": true, "durationSteps": 64, "nonFourFour": "fourFourGrid",
  "positionsPerBar": 12, "sustainPedal": "extendNotes", "ticksPerBeat": 480, "trackRoles": ["MELODY", "PIANO"],
  "tracks": "instruments", "velocityBins": 32}' > "$seeds/tokenizer"
printf '\003%s' '{"data": "x", "nll_per_token": {"int4": 1.52, "int8": 1.5}, "precision": "int8", "tokens": 100,
  "tolerance": 0.001, "weights_checksum": "abc"}' > "$seeds/choice"
printf '\004C:maj G:maj A:min,F:maj' > "$seeds/chords"
printf '\004F# minor' > "$seeds/key"
printf '\005%s\n' 'canonical_composer,midi_filename,split,style' 'Bach,"a/b,c.mid",train,baroque' 'x,y.midi,test,' \
  > "$seeds/csv"
printf '\005%s\n' '# a list' 'one.mid' '/abs/two.MID' '' > "$seeds/list"

status=0
for target in MIDIFiles Pictures ModelFiles Settings; do
  echo "== $target: $seconds s"
  rm -f "$work/$target"/{crash,leak,timeout,oom}-*  # an earlier run's finds (the corpus stays)
  (cd "$work/$target" && SWIFT_BACKTRACE=enable=no "$work/fuzz-$target" corpus seeds -max_total_time="$seconds" \
    -max_len=32768 -rss_limit_mb=4096 -print_final_stats=1 > log.txt 2>&1) || true
  grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$work/$target/log.txt" || true
  found=$(find "$work/$target" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \))
  if [ -n "$found" ]; then
    echo "FOUND: $found (log: $work/$target/log.txt)"
    status=1
  fi
done
exit $status
