#!/usr/bin/env bash
# Run a command against a fresh control plane (etcd and kube-apiserver), then
# stop the servers and delete their directory.
#
# Usage: run.sh CMD [ARGS...]
#
# CMD runs with KUBECONFIG set to an admin kubeconfig (group system:masters)
# and with the built kubectl first on PATH. run.sh exits with CMD's exit status,
# or 1 if CMD succeeded but a server could not be stopped.
#
# Environment:
#   IVSCHAT_TESTENV_KEEP=1  keep the directory (logs, kubeconfig, certificates)
#                           after the servers stop, and print its path
#   IVSCHAT_TESTENV_CACHE   cache root for the binaries (see build.sh)
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# shellcheck disable=SC2317 # log is called from the EXIT trap only.
log() {
  printf 'run.sh: %s\n' "$*" >&2
}

if [[ $# -eq 0 ]]; then
  echo "usage: run.sh CMD [ARGS...]" >&2
  exit 2
fi

bin_dir=$("$script_dir/build.sh")
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/ivschat-testenv.XXXXXX")

# shellcheck disable=SC2317 # cleanup runs from the EXIT trap.
cleanup() {
  local status=$?
  if ! "$script_dir/stop.sh" "$run_dir"; then
    log "error: a server started from $run_dir could not be stopped"
    if ((status == 0)); then
      status=1
    fi
  fi
  if [[ "${IVSCHAT_TESTENV_KEEP:-}" == 1 ]]; then
    log "kept $run_dir (logs, kubeconfig, certificates) after stopping the servers"
  else
    rm -rf "$run_dir"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

IVSCHAT_TESTENV_BIN=$bin_dir "$script_dir/start.sh" "$run_dir" >/dev/null
# shellcheck source=/dev/null
source "$run_dir/env"

set +e
"$@"
status=$?
set -e
exit "$status"
