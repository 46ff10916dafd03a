#!/bin/sh
# What a user gets: `pip install .` (not editable) into a fresh virtualenv, then, from an empty
# folder, `dialer --version`, `dialer demo` (its reports land in that folder), `dialer init`
# and `dialer validate --sandbox` on what init wrote. Run by `make install-check` and CI.
set -eu
PYTHON=${PYTHON:-python3}
CONSTRAINTS=${CONSTRAINTS:-requirements/constraints.txt}
source_dir=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$CONSTRAINTS" "$source_dir"
dialer="$work/venv/bin/dialer"

mkdir "$work/empty"
cd "$work/empty"
"$dialer" --version
"$dialer" -q demo --time-scale 1000 > demo.txt
grep -q "Campaign 'demo' finished." demo.txt
for suffix in csv xlsx json html; do
    test -s "demo-output/demo-report.$suffix"
done
"$dialer" init
"$dialer" validate my-campaign.toml --sandbox
echo "install-check: ok (non-editable install, demo, init, validate from an empty folder)"
