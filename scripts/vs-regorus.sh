#!/usr/bin/env bash
# Side by side: xdrguard `check` vs regorus `eval` on the same generated work (issue 14).
# Not a test. Needs: a release xdrguard, `regorus` on PATH
# (cargo install regorus --version 0.14.1 --example regorus --locked), python3.
# Usage: scripts/vs-regorus.sh [RUNS] [NxM ...]   e.g. scripts/vs-regorus.sh 5 50x200 500x2000
set -euo pipefail
RUNS=${1:-5}; shift || true
WORKS=${*:-50x200 500x2000}   # add 1000x20000 for the big one (minutes)
XDRGUARD=${XDRGUARD:-target/release/xdrguard}   # cargo build --release
# writes DIR/{policies/,facts.json,bench.rego,expected} (benches/evaluation.rs `gen`)
GEN=${GEN:-"cargo bench -q --bench evaluation -- gen"}
command -v regorus >/dev/null || { echo "regorus not installed: cargo install regorus --version 0.14.1 --example regorus --locked" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# one run: wall seconds and peak RSS KiB of a whole process
run() { /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" || { [ $? -le 1 ] || { cat "$tmp/err" >&2; exit 1; }; }; tail -n1 "$tmp/t"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf "%-12s %12s %10s %12s %10s %8s\n" work xdrguard_s xdr_MiB regorus_s rego_MiB ratio
for w in $WORKS; do
  n=${w%x*}; m=${w#*x}; d="$tmp/$w"; mkdir -p "$d"; $GEN "$d" "$n" "$m" >/dev/null
  expected=$(cat "$d/expected")
  for i in $(seq "$RUNS"); do
    run "$XDRGUARD" check --facts "$d/facts.json" --policies "$d/policies" --no-builtin --format json -o "$d/report.json" >> "$d/x"
    /usr/bin/time -f "%e %M" -o "$tmp/t" regorus eval -d "$d/bench.rego" -i "$d/facts.json" data.bench > "$d/rego.json"; tail -n1 "$tmp/t" >> "$d/r"
  done
  # both must list every violation
  got_x=$(python3 -c "import json,sys;print(sum(len(f.get('evidence',[])) for f in json.load(open(sys.argv[1]))['results']))" "$d/report.json")
  got_r=$(python3 -c "import json,sys;r=json.load(open(sys.argv[1]));v=r['result'][0]['expressions'][0]['value'];print(sum(len(s) for s in v.values()))" "$d/rego.json")
  [ "$got_x" = "$expected" ] && [ "$got_r" = "$expected" ] || { echo "$w: violations xdrguard=$got_x regorus=$got_r expected=$expected" >&2; exit 1; }
  xs=$(cut -d' ' -f1 "$d/x" | median); xm=$(cut -d' ' -f2 "$d/x" | median)
  rs=$(cut -d' ' -f1 "$d/r" | median); rm_=$(cut -d' ' -f2 "$d/r" | median)
  printf "%-12s %12s %10.1f %12s %10.1f %8.2f\n" "$w" "$xs" "$(echo "$xm/1024" | bc -l)" "$rs" "$(echo "$rm_/1024" | bc -l)" "$(echo "$xs/$rs" | bc -l)"
done
echo "ratio = xdrguard wall / regorus wall (median of $RUNS); < 1 means xdrguard is faster"
