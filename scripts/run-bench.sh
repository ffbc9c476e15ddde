#!/bin/sh
# Runs every benchmark and splices its output into docs/benchmarks.md.
# A benchmark is an executable that prints one markdown section (tables of
# figures, ratios to the anchors it measured in the same run) to stdout and
# progress to stderr.  Its section lands between the markers
#   <!-- bench:NAME -->  and  <!-- /bench:NAME -->
# in docs/benchmarks.md; the prose around the markers is written by hand.
set -eu
out=docs/benchmarks.md
build=${BUILD:-build}
mkdir -p "$build/bench"
for b in "$@"; do
        name=$(basename "$b")
        echo "== bench $name" >&2
        "$b" >"$build/bench/$name.md"
        if ! grep -q "<!-- bench:$name -->" "$out" 2>/dev/null; then
                printf '\n<!-- bench:%s -->\n<!-- /bench:%s -->\n' "$name" "$name" >>"$out"
        fi
        awk -v name="$name" -v file="$build/bench/$name.md" '
                $0 == "<!-- bench:" name " -->" { print; while ((getline l < file) > 0) print l; skip = 1; next }
                $0 == "<!-- /bench:" name " -->" { skip = 0 }
                !skip { print }' "$out" >"$out.tmp"
        mv "$out.tmp" "$out"
done
echo "benchmarks written to $out" >&2
