#!/usr/bin/env bash
# Start etcd and kube-apiserver on free 127.0.0.1 ports, with all state in DIR.
#
# Usage: start.sh DIR
#
# DIR receives pki/ (CA, serving, admin client and service-account keys),
# etcd/ (etcd data), etcd.log, kube-apiserver.log, etcd.pid,
# kube-apiserver.pid, kubeconfig (admin user in system:masters, certificates
# embedded) and env (export lines for KUBECONFIG and PATH). The only line on
# stdout is the path of DIR/env. Stop the servers with stop.sh DIR.
#
# Environment:
#   IVSCHAT_TESTENV_BIN  directory with kube-apiserver, kubectl and etcd
#                        (default: the directory that build.sh prints)
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Seconds to wait for each readiness step.
readonly etcd_timeout=30
readonly apiserver_timeout=90
readonly namespace_timeout=30
# Validity of the generated certificates, in days. start.sh makes new ones on every start.
readonly certificate_days=7

log() {
  printf 'start.sh: %s\n' "$*" >&2
}

die() {
  log "error: $*"
  exit 1
}

if [[ $# -ne 1 ]]; then
  echo "usage: start.sh DIR" >&2
  exit 2
fi
mkdir -p "$1"
dir=$(cd "$1" && pwd)

for tool in openssl python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool was not found on PATH. Install it (the Debian package has the same name)."
done

for pid_file in "$dir/etcd.pid" "$dir/kube-apiserver.pid"; do
  if [[ -e "$pid_file" ]]; then
    die "$pid_file exists, so a control plane may still run from $dir. Run stop.sh $dir first or use an empty directory."
  fi
done

if [[ -n "${IVSCHAT_TESTENV_BIN:-}" ]]; then
  bin_dir=$(cd "$IVSCHAT_TESTENV_BIN" && pwd) || die "IVSCHAT_TESTENV_BIN=$IVSCHAT_TESTENV_BIN is not a directory"
else
  bin_dir=$("$script_dir/build.sh")
fi
for name in kube-apiserver kubectl etcd; do
  [[ -x "$bin_dir/$name" ]] || die "$bin_dir/$name is missing or not executable. Run build.sh or fix IVSCHAT_TESTENV_BIN."
done

# Secrets (private keys, kubeconfig) must not be readable by other users.
umask 077
pki=$dir/pki
kubeconfig=$dir/kubeconfig

# Writes the openssl configuration with one extension section per certificate kind.
write_openssl_config() {
  cat >"$pki/openssl.cnf" <<'EOF'
[req]
distinguished_name = req_distinguished_name
prompt = no

[req_distinguished_name]

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
}

# Writes an ECDSA P-256 private key in PKCS#8 PEM ("PRIVATE KEY") to file $1.
generate_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# Issues certificate $1.crt (key $1.key) for subject $2, signed by the CA,
# with the extensions of section $3 in openssl.cnf.
issue_certificate() {
  local name=$1 subject=$2 extensions=$3
  generate_key "$pki/$name.key"
  openssl req -new -config "$pki/openssl.cnf" -key "$pki/$name.key" -subj "$subject" \
    -out "$pki/$name.csr"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$certificate_days" -sha256 \
    -extfile "$pki/openssl.cnf" -extensions "$extensions" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr"
}

generate_pki() {
  rm -rf "$pki"
  mkdir -p "$pki"
  write_openssl_config

  generate_key "$pki/ca.key"
  openssl req -x509 -new -config "$pki/openssl.cnf" -key "$pki/ca.key" \
    -subj "/CN=ivschat-testenv-ca" -days "$certificate_days" -sha256 \
    -extensions ca_ext -out "$pki/ca.crt"

  # The IP SAN lets clients verify https://127.0.0.1:<port>. rustls matches IP
  # addresses only against IP SANs, never against DNS names.
  issue_certificate apiserver "/CN=kube-apiserver" server_ext
  # The system:masters group bypasses RBAC authorization.
  issue_certificate admin "/O=system:masters/CN=ivschat-admin" client_ext

  generate_key "$pki/sa.key"
  openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
}

# Prints three distinct free TCP ports on 127.0.0.1. Another program can take
# a port before a server binds it, so start-up is retried once when that happens.
pick_free_ports() {
  python3 - <<'EOF'
import socket

sockets = []
for _ in range(3):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    sockets.append(s)
print(" ".join(str(s.getsockname()[1]) for s in sockets))
for s in sockets:
    s.close()
EOF
}

# Polls URL $3 with curl (extra curl arguments after $3) until it returns a
# 2xx status. Returns 0 when ready, 1 after $2 seconds and 2 as soon as
# process $1 exits.
wait_for_url() {
  local pid=$1 timeout=$2 url=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if curl --noproxy '*' --silent --fail --max-time 2 --output /dev/null "$@" "$url"; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      return 2
    fi
    sleep 0.2
  done
  return 1
}

# Prints why server $1 did not become ready (wait_for_url status $2), with the end of its log.
report_start_failure() {
  local name=$1 status=$2
  if ((status == 2)); then
    log "$name exited during start-up. Last lines of $dir/$name.log:"
  else
    log "$name timed out during start-up. Last lines of $dir/$name.log:"
  fi
  tail -n 40 "$dir/$name.log" >&2 || true
}

# Starts etcd on client port $1 and peer port $2 and waits for /health.
# Returns non-zero on failure, because callers run it where set -e is off.
start_etcd() {
  local client_url=http://127.0.0.1:$1 peer_url=http://127.0.0.1:$2 status=0
  rm -rf "$dir/etcd"
  "$bin_dir/etcd" \
    --name=testenv \
    --data-dir="$dir/etcd" \
    --listen-client-urls="$client_url" \
    --advertise-client-urls="$client_url" \
    --listen-peer-urls="$peer_url" \
    --initial-advertise-peer-urls="$peer_url" \
    --initial-cluster="testenv=$peer_url" \
    --initial-cluster-state=new \
    --unsafe-no-fsync \
    --log-level=warn \
    </dev/null >"$dir/etcd.log" 2>&1 &
  echo "$!" >"$dir/etcd.pid"
  log "started etcd (PID $!) on $client_url"

  wait_for_url "$!" "$etcd_timeout" "$client_url/health" || status=$?
  if ((status != 0)); then
    report_start_failure etcd "$status"
    return 1
  fi
}

# Starts kube-apiserver on port $1 against etcd client port $2 and waits for /readyz.
# Returns non-zero on failure, because callers run it where set -e is off.
start_apiserver() {
  local port=$1 etcd_client_port=$2 status=0
  # --endpoint-reconciler-type=none: with the default "lease" reconciler,
  #   kube-apiserver v1.37.2 exits at start-up because the advertise address
  #   "may not be in the loopback range".
  # --disable-admission-plugins=ServiceAccount: no controller manager runs to
  #   create the "default" ServiceAccount that this plugin waits for.
  "$bin_dir/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$etcd_client_port" \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --secure-port="$port" \
    --cert-dir="$pki" \
    --tls-cert-file="$pki/apiserver.crt" \
    --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/ca.crt" \
    --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/sa.pub" \
    --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --allow-privileged=true \
    --disable-admission-plugins=ServiceAccount \
    --endpoint-reconciler-type=none \
    --v=1 \
    </dev/null >"$dir/kube-apiserver.log" 2>&1 &
  echo "$!" >"$dir/kube-apiserver.pid"
  log "started kube-apiserver (PID $!) on https://127.0.0.1:$port"

  wait_for_url "$!" "$apiserver_timeout" "https://127.0.0.1:$port/readyz" \
    --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" || status=$?
  if ((status != 0)); then
    report_start_failure kube-apiserver "$status"
    return 1
  fi
}

# Starts etcd and kube-apiserver on new free ports and sets apiserver_port.
# Returns non-zero on failure, because callers run it where set -e is off.
start_control_plane() {
  local ports etcd_client_port etcd_peer_port
  ports=$(pick_free_ports) || return 1
  read -r etcd_client_port etcd_peer_port apiserver_port <<<"$ports"
  start_etcd "$etcd_client_port" "$etcd_peer_port" || return 1
  start_apiserver "$apiserver_port" "$etcd_client_port" || return 1
}

# Stop whatever this script started unless it finishes successfully.
started=0
stop_on_failure() {
  if ((started == 0)); then
    "$script_dir/stop.sh" "$dir" >&2 || true
  fi
}
trap stop_on_failure EXIT

generate_pki

apiserver_port=
for attempt in 1 2; do
  if start_control_plane; then
    break
  fi
  if ((attempt == 2)) || ! grep -qs 'address already in use' "$dir/etcd.log" "$dir/kube-apiserver.log"; then
    die "the control plane failed to start, see the logs in $dir"
  fi
  log "a picked port was taken before the server bound it, so start-up is retried once with new ports"
  "$script_dir/stop.sh" "$dir" >&2
done

kubectl=("$bin_dir/kubectl" --kubeconfig="$kubeconfig")
rm -f "$kubeconfig"
"${kubectl[@]}" config set-cluster ivschat-testenv --server="https://127.0.0.1:$apiserver_port" \
  --certificate-authority="$pki/ca.crt" --embed-certs=true >/dev/null
"${kubectl[@]}" config set-credentials ivschat-admin \
  --client-certificate="$pki/admin.crt" --client-key="$pki/admin.key" --embed-certs=true >/dev/null
"${kubectl[@]}" config set-context ivschat-testenv --cluster=ivschat-testenv --user=ivschat-admin \
  --namespace=default >/dev/null
"${kubectl[@]}" config use-context ivschat-testenv >/dev/null

# /readyz can pass before the system namespaces are created.
deadline=$((SECONDS + namespace_timeout))
until "${kubectl[@]}" get namespace default >/dev/null 2>&1; do
  if ((SECONDS >= deadline)); then
    "${kubectl[@]}" get namespace default >&2 || true
    die "timed out after $namespace_timeout s waiting for namespace default, see the logs in $dir"
  fi
  sleep 0.2
done

{
  printf 'export KUBECONFIG=%q\n' "$kubeconfig"
  # shellcheck disable=SC2016 # $PATH expands when the file is sourced.
  printf 'export PATH=%q:"$PATH"\n' "$bin_dir"
} >"$dir/env"

started=1
log "control plane ready at https://127.0.0.1:$apiserver_port with kubeconfig $kubeconfig"
printf '%s\n' "$dir/env"
