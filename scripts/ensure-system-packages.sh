#!/usr/bin/env bash
# Debian packages the test suite runs for real: prometheus (the metric provider's tests start
# the binary themselves; the packaged service is not used), openssl, chromium (the
# dashboard's browser tests drive it with Playwright; browsers are never downloaded) and
# nginx (the release router's tests run it under a private prefix; the packaged service is
# not used).
set -euo pipefail

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  echo "ensure-system-packages: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "ensure-system-packages: prometheus, openssl, chromium and nginx present"
