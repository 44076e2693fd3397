#!/usr/bin/env bash
# Build kube-apiserver, kubectl, etcd and helm from the Go modules in k8s/,
# etcd/ and helm/ into a cache directory outside the repository, and print that
# bin directory.
#
# Usage: build.sh
#
# The only line on stdout is the bin directory. Progress goes to stderr.
# Environment:
#   IVSCHAT_TESTENV_CACHE  cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/ivschat-operator/testenv)
#
# The bin directory is <cache root>/<key>/bin, where <key> is a short sha256 of
# versions.env, the three go.mod/go.sum pairs, the Go version and platform, and the
# build flags. A finished build is reused when its completion stamp exists.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=versions.env
source "$script_dir/versions.env"

# A fixed build date keeps the binaries identical across rebuilds.
readonly build_date=2026-01-01T00:00:00Z
readonly git_commit=0000000000000000000000000000000000000000
readonly k8s_minor=${K8S_VERSION#*.}

log() {
  printf 'build.sh: %s\n' "$*" >&2
}

die() {
  log "error: $*"
  exit 1
}

sha256_stdin() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum | cut -d' ' -f1
  else
    shasum -a 256 | cut -d' ' -f1
  fi
}

# Prints the version that go.mod file $1 requires for module $2.
required_version() {
  awk -v module="$2" '
    $1 == "require" && $2 == module { print $3; exit }
    $1 == module && $2 ~ /^v/ { print $2; exit }
  ' "$1"
}

# Prints the "go" directive of go.mod file $1.
go_directive() {
  awk '$1 == "go" { print $2; exit }' "$1"
}

# Succeeds when Go version $1 (such as 1.26.8) is at least version $2 (such as 1.26.0).
version_at_least() {
  local have_major have_minor have_patch need_major need_minor need_patch
  IFS=. read -r have_major have_minor have_patch <<<"$1"
  IFS=. read -r need_major need_minor need_patch <<<"$2"
  have_patch=${have_patch:-0}
  need_patch=${need_patch:-0}
  if ((have_major != need_major)); then
    ((have_major > need_major))
  elif ((have_minor != need_minor)); then
    ((have_minor > need_minor))
  else
    ((have_patch >= need_patch))
  fi
}

# Fail before any work when versions.env and a go.mod disagree, because the
# version stamped into the binaries comes from versions.env.
k8s_required=$(required_version "$script_dir/k8s/go.mod" k8s.io/kubernetes)
etcd_required=$(required_version "$script_dir/etcd/go.mod" go.etcd.io/etcd/server/v3)
helm_required=$(required_version "$script_dir/helm/go.mod" helm.sh/helm/v4)
if [[ "$k8s_required" != "v$K8S_VERSION" ]]; then
  die "k8s/go.mod requires k8s.io/kubernetes ${k8s_required:-(nothing)}, but versions.env sets K8S_VERSION=$K8S_VERSION. Make them match."
fi
if [[ "$etcd_required" != "v$ETCD_VERSION" ]]; then
  die "etcd/go.mod requires go.etcd.io/etcd/server/v3 ${etcd_required:-(nothing)}, but versions.env sets ETCD_VERSION=$ETCD_VERSION. Make them match."
fi
if [[ "$helm_required" != "v$HELM_VERSION" ]]; then
  die "helm/go.mod requires helm.sh/helm/v4 ${helm_required:-(nothing)}, but versions.env sets HELM_VERSION=$HELM_VERSION. Make them match."
fi

# GOTOOLCHAIN=local makes a too-old Go fail here instead of downloading a toolchain.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=readonly

if ! command -v go >/dev/null 2>&1; then
  die "the go command was not found on PATH. Install Go $(go_directive "$script_dir/k8s/go.mod") or newer (https://go.dev/dl/) and put its bin directory on PATH"
fi
go_env=$(go env GOVERSION GOOS GOARCH) || die "'go env' failed, so check the Go installation at $(command -v go)"
{
  read -r go_version_string
  read -r goos
  read -r goarch
} <<<"$go_env"
if [[ ! "$go_version_string" =~ go([0-9]+\.[0-9]+(\.[0-9]+)?) ]]; then
  die "cannot parse the Go version '$go_version_string' reported by $(command -v go)"
fi
go_version=${BASH_REMATCH[1]}
for go_mod in "$script_dir/k8s/go.mod" "$script_dir/etcd/go.mod" "$script_dir/helm/go.mod"; do
  go_needed=$(go_directive "$go_mod")
  if ! version_at_least "$go_version" "$go_needed"; then
    die "$go_mod needs Go $go_needed or newer, but $(command -v go) is go$go_version. Install a newer Go (https://go.dev/dl/) and put it first on PATH"
  fi
done

# The same version variables that Kubernetes' hack/lib/version.sh sets. Without
# them /version reports v0.0.0-master and Helm kubeVersion checks fail.
k8s_ldflags="-s -w"
for version_package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $version_package.gitVersion=v$K8S_VERSION"
  k8s_ldflags+=" -X $version_package.gitMajor=${K8S_VERSION%%.*}"
  k8s_ldflags+=" -X $version_package.gitMinor=${k8s_minor%%.*}"
  k8s_ldflags+=" -X $version_package.gitTreeState=clean"
  k8s_ldflags+=" -X $version_package.gitCommit=$git_commit"
  k8s_ldflags+=" -X $version_package.buildDate=$build_date"
done
# etcd's version number is a constant in go.etcd.io/etcd/api/v3/version, so
# only its git SHA could be stamped, and no SHA is known for a module build.
etcd_ldflags="-s -w"
# The same variables as helm's own Makefile. Without them `helm version`
# reports only the minor version (v4.3).
helm_ldflags="-s -w"
helm_ldflags+=" -X helm.sh/helm/v4/internal/version.version=v$HELM_VERSION"
helm_ldflags+=" -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
readonly build_flags="-trimpath"

key=$(
  {
    cat "$script_dir/versions.env" \
      "$script_dir/k8s/go.mod" "$script_dir/k8s/go.sum" \
      "$script_dir/etcd/go.mod" "$script_dir/etcd/go.sum" \
      "$script_dir/helm/go.mod" "$script_dir/helm/go.sum"
    printf '%s\n' "$go_version_string" "$goos/$goarch" \
      "GOTOOLCHAIN=$GOTOOLCHAIN CGO_ENABLED=$CGO_ENABLED GOFLAGS=$GOFLAGS" \
      "$build_flags" "$k8s_ldflags" "$etcd_ldflags" "$helm_ldflags"
  } | sha256_stdin | cut -c1-16
)
cache_root=${IVSCHAT_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ivschat-operator/testenv}
key_dir=$cache_root/$key
bin_dir=$key_dir/bin
readonly binaries=(kube-apiserver kubectl etcd helm)

is_complete() {
  local name
  [[ -f "$bin_dir/.complete" ]] || return 1
  for name in "${binaries[@]}"; do
    [[ -x "$bin_dir/$name" ]] || return 1
  done
}

if is_complete; then
  printf '%s\n' "$bin_dir"
  exit 0
fi

mkdir -p "$key_dir"
# The lock makes a second concurrent caller wait for the first build and reuse it.
exec 9>"$key_dir/lock"
if command -v flock >/dev/null 2>&1; then
  if ! flock -n 9; then
    log "another build of this key is running, waiting up to 1 hour for its lock $key_dir/lock"
    flock -w 3600 9 || die "timed out after 1 hour waiting for the build lock $key_dir/lock"
  fi
  if is_complete; then
    printf '%s\n' "$bin_dir"
    exit 0
  fi
  # Under the lock, partial directories can only be left by a killed build.
  rm -rf "$key_dir"/bin.partial.*
else
  # NOTE: without flock (util-linux), concurrent cold builds of one key both
  # compile, and the check before the rename below keeps the first result.
  log "flock not found, so concurrent builds of this key are not serialized"
fi

# A bin directory without the completion stamp is incomplete, so rebuild it.
rm -rf "$bin_dir"
partial_dir=$(mktemp -d "$key_dir/bin.partial.XXXXXX")
chmod 755 "$partial_dir"
trap 'rm -rf "$partial_dir"' EXIT

log "building into $bin_dir (go$go_version $goos/$goarch, Kubernetes v$K8S_VERSION, etcd v$ETCD_VERSION, helm v$HELM_VERSION)"
log "a build with an empty Go build cache compiles about 2,300 packages, which takes tens of minutes on a small machine"

# Builds package $3 of the module in directory $1 into $partial_dir/$2 with ldflags $4.
build_binary() {
  local module_dir=$1 name=$2 package=$3 ldflags=$4 started=$SECONDS
  log "building $name from $package"
  (cd "$module_dir" && go build "$build_flags" -ldflags "$ldflags" -o "$partial_dir/$name" "$package") >&2 ||
    die "go build of $package failed (see the output above)"
  [[ -x "$partial_dir/$name" ]] || die "go build of $package succeeded but wrote no $partial_dir/$name"
  log "built $name in $((SECONDS - started)) s"
}

build_binary "$script_dir/etcd" etcd go.etcd.io/etcd/server/v3 "$etcd_ldflags"
build_binary "$script_dir/k8s" kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags"
build_binary "$script_dir/k8s" kubectl k8s.io/kubernetes/cmd/kubectl "$k8s_ldflags"
build_binary "$script_dir/helm" helm helm.sh/helm/v4/cmd/helm "$helm_ldflags"

{
  printf 'key=%s\n' "$key"
  printf 'go=%s %s/%s\n' "$go_version_string" "$goos" "$goarch"
  printf 'kubernetes=v%s etcd=v%s helm=v%s\n' "$K8S_VERSION" "$ETCD_VERSION" "$HELM_VERSION"
} >"$partial_dir/.complete"
if is_complete; then
  log "another build of this key finished first, so its binaries are kept"
  printf '%s\n' "$bin_dir"
  exit 0
fi
mv "$partial_dir" "$bin_dir" || die "cannot rename $partial_dir to $bin_dir"
trap - EXIT
log "done: $bin_dir"
printf '%s\n' "$bin_dir"
