# lib.sh: what the multi-process tests share (sourced, not run): a temp
# folder $T, fail, and run NP COMMAND... (one process, or mpirun on
# localhost over shared memory, bounded in time).
: "${COLDSTART:=build/coldstart}"
T=$(mktemp -d "${CS_TMP:-/tmp}/$(basename "$0" .sh).XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v mpirun >/dev/null || fail "mpirun not found (scripts/deps.sh installs openmpi-bin)"
MPIRUN=(mpirun --oversubscribe)
# one machine: shared memory only (probing the network interconnects costs
# ~0.2 s per launch)
export OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1
[ "$(id -u)" -eq 0 ] && MPIRUN+=(--allow-run-as-root)
# OpenMPI under the sanitizers (make asan): its libraries' own allocations
# are not ours to check; full stacks so that the suppressions can tell them
# from ours
export LSAN_OPTIONS="suppressions=$PWD/tests/cli/lsan-mpi.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
run() { # np, then the command; output files compared by the caller
  local np=$1
  shift
  if [ "$np" = 1 ]; then "$@"; else timeout 120 "${MPIRUN[@]}" -np "$np" "$@"; fi
}
