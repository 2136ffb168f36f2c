# Sourced by scripts/test, scripts/demo and scripts/bench: installs the Debian packages ringleader
# needs when any is missing (apt-get update once). Runs as root on the project's machines; elsewhere
# it uses sudo when available, or tells the user what to install.

RL_DEBIAN_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libuv1-dev libhiredis-dev libfmt-dev libyaml-cpp-dev libgtest-dev libgmock-dev
  libbenchmark-dev libcli11-dev libssl-dev
  redis-server redis-tools nutcracker python3-redis
  clang-14 libclang-rt-14-dev gnuplot-nox prometheus iptables
)

rl_ensure_packages() {
  local missing=()
  local p
  for p in "${RL_DEBIAN_PACKAGES[@]}" "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "==> installing missing packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then sudo="sudo"; else
      echo "error: run as root or install: ${missing[*]}" >&2
      return 1
    fi
  fi
  # redis-server's and nutcracker's packages would start system services; tests start their own.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    RL_REMOVE_POLICY=1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  local rc=$?
  if [ "${RL_REMOVE_POLICY:-0}" = 1 ]; then $sudo rm -f /usr/sbin/policy-rc.d; fi
  return $rc
}
