#!/usr/bin/env bash
# Debian packages the tests need beyond pip: Chromium and its driver, for the browser end-to-end test.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "the browser tests need: ${need[*]}; install them with: apt-get install -y ${need[*]}" >&2; exit 1
  fi
fi
echo "installing ${need[*]} (apt-get)"
${SUDO:-} apt-get update -qq
DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -qq "${need[@]}" >/dev/null
