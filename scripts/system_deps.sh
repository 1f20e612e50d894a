#!/usr/bin/env bash
# Debian packages the tests need beyond pip: Chromium and its driver, for the browser end-to-end test;
# nginx with its RTMP module, the real RTMP server the broadcast tests publish to.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
{ command -v nginx || [ -x /usr/sbin/nginx ]; } >/dev/null 2>&1 || need+=(nginx)
[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || need+=(libnginx-mod-rtmp)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "the browser and broadcast tests need: ${need[*]}; install them with: apt-get install -y ${need[*]}" >&2; exit 1
  fi
fi
echo "installing ${need[*]} (apt-get)"
${SUDO:-} apt-get update -qq
DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -qq "${need[@]}" >/dev/null
