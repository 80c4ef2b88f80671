# Shared by scripts/sandbox.sh, scripts/multinode.sh and the install scripts (sourced, not run). Expects `log` and `die`.

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local secs="$1" what="$2"; shift 2
  local i
  for ((i = 0; i < secs * 5; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "$what did not come up within ${secs}s"
}

# registry_up DIR ADDR:PORT REALM HTPASSWD [CERT KEY]: a docker-registry with htpasswd auth (and TLS when a
# certificate is given), its data, config, log and pid file in DIR. Idempotent.
registry_up() {
  local dir="$1" addr="$2" realm="$3" htpasswd="$4" cert="${5:-}" key="${6:-}"
  mkdir -p "$dir/registry-data"
  {
    printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n' "$dir/registry-data"
    printf 'http:\n  addr: %s\n' "$addr"
    [ -z "$cert" ] || printf '  tls:\n    certificate: %s\n    key: %s\n' "$cert" "$key"
    printf 'auth:\n  htpasswd:\n    realm: %s\n    path: %s\n' "$realm" "$htpasswd"
  } >"$dir/registry.yml"
  if [ -f "$dir/registry.pid" ] && kill -0 "$(cat "$dir/registry.pid")" 2>/dev/null; then return; fi
  log "starting the registry on $addr${cert:+ (TLS)}"
  nohup docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
  echo $! >"$dir/registry.pid"
  wait_for 20 registry bash -c "exec 3<>/dev/tcp/${addr%:*}/${addr##*:}"
}

# sshd_config_in DIR PORT ADDRESS USER [EXTRA LINE…]: an sshd for one deploy user, key login only, its host key,
# config, pid file and the known_hosts line for it in DIR. Writes the config; the caller starts sshd.
sshd_config_in() {
  local dir="$1" port="$2" address="$3" user="$4"; shift 4
  [ -f "$dir/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh_host_ed25519_key"
  {
    printf 'Port %s\nListenAddress %s\nHostKey %s\nPidFile %s\n' "$port" "$address" "$dir/ssh_host_ed25519_key" "$dir/sshd.pid"
    printf 'PermitRootLogin no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n'
    printf 'AllowUsers %s\nUsePAM no\nLogLevel VERBOSE\nMaxStartups 50\nSubsystem sftp internal-sftp\n' "$user"
    local extra
    for extra in "$@"; do printf '%s\n' "$extra"; done
  } >"$dir/sshd_config"
  echo "[$address]:$port $(cut -d' ' -f1,2 "$dir/ssh_host_ed25519_key.pub")" >"$dir/known_hosts"
  mkdir -p /run/sshd
}

# trixie_unpack WORK PACKAGE...: downloads Debian trixie's PACKAGEs with a private source list (the machine's own
# apt sources and packages stay as they are) and unpacks them all into WORK/unpacked. For what bookworm lacks or
# has too old (buildx, a current docker engine).
trixie_unpack() {
  local work="$1"; shift
  local mirror
  # the mirror the machine already uses, with the suite set to trixie
  mirror="$(grep -hoE '^(URIs:|deb) +[^ ]*(https?://[^ ]+/debian)/?' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -oE 'https?://[^ ]+/debian' | head -1 || true)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$work/sources.list"
  local apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
  apt-get -qq "${apt_opts[@]}" update >/dev/null
  (cd "$work" && apt-get -qq "${apt_opts[@]}" download "$@" >/dev/null)
  local deb
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/unpacked"; done
}
