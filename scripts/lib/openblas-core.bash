# Sourced by the benchmark scripts: `source scripts/lib/openblas-core.bash BUILD_DIR`. Exports the
# OpenBLAS kernels the product runs (panoramia's front end picks them where OpenBLAS takes the CPU
# for an older one; `panoramia doctor` says which), so that our benchmark binaries, which load
# OpenBLAS directly, and the Python peers run the same kernels. A user's OPENBLAS_CORETYPE stays.
if [[ -z "${OPENBLAS_CORETYPE:-}" && -x "$1/bin/panoramia" ]]; then
  panoramia_core=$("$1/bin/panoramia" doctor 2>/dev/null |
    awk '$1 == "OpenBLAS" && $2 == "core" { sub(",", "", $3); print $3 }')
  [[ -z "$panoramia_core" ]] || export OPENBLAS_CORETYPE=$panoramia_core
  unset panoramia_core
fi
