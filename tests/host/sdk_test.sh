#!/usr/bin/env bash
# Installs panoramia into a temporary prefix, builds tests/sdk-example out of tree against it with
# find_package(Panoramia), and runs an audit with the installed binary using the example plugin.
set -euo pipefail
src=$1
build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log"
test -x "$tmp/prefix/bin/panoramia"
test -f "$tmp/prefix/lib/panoramia/plugins/libmlp.so"
test -f "$tmp/prefix/include/panoramia/plugin.hpp"

cmake -S "$src/tests/sdk-example" -B "$tmp/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/configure.log"
cmake --build "$tmp/build" >"$tmp/build.log"
# The example's own unit test, on the installed test context.
test -f "$tmp/prefix/include/panoramia/testing.hpp"
ctest --test-dir "$tmp/build" --output-on-failure >"$tmp/ctest.log" || { cat "$tmp/ctest.log"; exit 1; }
grep -q "100% tests passed" "$tmp/ctest.log"

list=$("$tmp/prefix/bin/panoramia" plugins list --plugin-path "$tmp/build")
echo "$list"
grep -q "^example-attack .*attack .*$tmp/build/libexample_attack.so" <<<"$list"
grep -q "^mlp .*$tmp/prefix/lib/panoramia/plugins/libmlp.so" <<<"$list"

cat >"$tmp/audit.ini" <<INI
[audit]
seed = 5
plugin_path = build
[data]
plugin = gaussian
samples = 600
dim = 4
[generator]
plugin = gaussian
[target]
plugin = mlp
hidden = 32
epochs = 10
[featurizer]
plugin = loss
[attack]
plugin = example-attack
INI
cd "$tmp"
"$tmp/prefix/bin/panoramia" audit audit.ini --log-level warn | tee audit.out
grep -q "c_lb = " audit.out
"$tmp/prefix/bin/panoramia" export 1 --json >export.json
grep -q '"plugin": "example-attack"' export.json
echo "sdk test passed"
