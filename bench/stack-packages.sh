#!/bin/sh
# Debian's nginx, redis-server and PostgreSQL server binaries for `make prod-demo` and `make drill`,
# installed when missing. Their own services are not started (policy-rc.d): the stack runs its own
# instances on free ports and never touches the machine's.
set -eu
missing=""
command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || missing="$missing nginx"
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
[ -z "$missing" ] && exit 0
echo "== installing Debian's$missing for the loopback stack =="
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy=1
fi
trap '[ -n "$policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing > /dev/null
