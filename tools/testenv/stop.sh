#!/usr/bin/env bash
# Stop the kube-apiserver and etcd that start.sh started in DIR.
#
# Usage: stop.sh DIR
#
# Only the PIDs in DIR/kube-apiserver.pid and DIR/etcd.pid are signalled, and
# only while their command line still mentions DIR, so a PID reused by another
# program is left alone. Each server gets SIGTERM, then SIGKILL after 10 s.
# Exits non-zero if a server is still running afterwards.
set -euo pipefail

readonly term_timeout=10
readonly kill_timeout=5

log() {
  printf 'stop.sh: %s\n' "$*" >&2
}

if [[ $# -ne 1 ]]; then
  echo "usage: stop.sh DIR" >&2
  exit 2
fi
if [[ ! -d "$1" ]]; then
  log "$1 does not exist, so nothing is running from it"
  exit 0
fi
dir=$(cd "$1" && pwd)

# Succeeds while process $1 exists and is not a zombie.
is_running() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z* ]]
}

# Prints the command line of process $1.
command_line() {
  if [[ -r "/proc/$1/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$1/cmdline"
  else
    ps -ww -o args= -p "$1"
  fi
}

# Waits up to $2 seconds for process $1 to exit. Fails if it still runs.
wait_for_exit() {
  local pid=$1 deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    is_running "$pid" || return 0
    sleep 0.1
  done
  ! is_running "$pid"
}

# Stops the server whose PID is in DIR/$1.pid. Fails if it survives SIGKILL.
stop_server() {
  local name=$1 pid_file=$dir/$1.pid pid
  [[ -f "$pid_file" ]] || return 0
  pid=$(<"$pid_file")
  if [[ ! "$pid" =~ ^[1-9][0-9]*$ ]]; then
    log "$pid_file does not contain a PID ('$pid'), so it is removed without signalling anything"
    rm -f "$pid_file"
    return 0
  fi
  if ! is_running "$pid"; then
    log "$name (PID $pid) is not running"
    rm -f "$pid_file"
    return 0
  fi
  if [[ "$(command_line "$pid")" != *"$dir"* ]]; then
    log "PID $pid from $pid_file now belongs to another program, so it is not signalled"
    rm -f "$pid_file"
    return 0
  fi

  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for_exit "$pid" "$term_timeout"; then
    log "$name (PID $pid) still runs $term_timeout s after SIGTERM, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    if ! wait_for_exit "$pid" "$kill_timeout"; then
      log "error: $name (PID $pid) still runs after SIGKILL"
      return 1
    fi
  fi
  log "stopped $name (PID $pid)"
  rm -f "$pid_file"
}

# The apiserver goes first so that it does not log errors about a missing etcd.
status=0
stop_server kube-apiserver || status=1
stop_server etcd || status=1
exit "$status"
