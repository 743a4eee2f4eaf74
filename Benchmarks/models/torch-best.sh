# Sourced by the comparison scripts (models/compare.sh, models/precision.sh, generate-compare.sh):
# PyTorch at its best, the faster of its two OpenMP wait policies. ACTIVE spins (fastest on a
# quiet machine), PASSIVE sleeps (on a loaded machine the spinning threads can collapse).
#
# torch_best PYTHON SCRIPT ARGS...: runs `PYTHON SCRIPT ARGS...` (Benchmarks/models/torch_bench.py)
# under OMP_WAIT_POLICY=ACTIVE and PASSIVE, with the caller's environment otherwise; writes
# "torch POLICY RESULT-line" for each to stderr and the faster one's RESULT line to stdout
# (nothing when both fail).
torch_best() {
  local python=$1 script=$2; shift 2
  local policy line rate best="" bestline=""
  for policy in ACTIVE PASSIVE; do
    line=$(OMP_WAIT_POLICY=$policy "$python" "$script" "$@" 2>/dev/null | grep RESULT || true)
    echo "torch $policy $line" >&2
    rate=$(echo "$line" | sed -n 's/.*tokens_per_s=\([0-9.]*\).*/\1/p')
    if [ -n "$rate" ] && { [ -z "$best" ] || "$python" -c "import sys; sys.exit(0 if $rate > $best else 1)"; }; then
      best=$rate; bestline=$line
    fi
  done
  if [ -n "$bestline" ]; then echo "$bestline"; fi
}
