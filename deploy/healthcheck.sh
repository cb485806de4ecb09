#!/bin/bash
# salon-healthcheck [PORT]: exits 0 when GET /healthz on 127.0.0.1:PORT answers 200, else 1.
#
# The container image's HEALTHCHECK. PORT defaults to the port of BIND (web); give 9091 (the
# port of WORKER_METRICS_BIND) for a worker. Uses bash's /dev/tcp, so the image needs no curl.
# Docker's --timeout bounds a connection that hangs; `read -t` bounds a silent server.
set -u

port=${1:-${BIND##*:}}
port=${port:-8080}
if [[ ! $port =~ ^[0-9]+$ ]]; then
    echo "salon-healthcheck: not a port: $port" >&2
    exit 1
fi

exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: salon-healthcheck\r\nConnection: close\r\n\r\n' >&3 \
    || exit 1
IFS= read -r -t 5 status_line <&3 || exit 1
exec 3<&-
# "HTTP/1.1 200 OK\r"
if [[ $status_line =~ ^HTTP/1\.[01]\ 200[\ $'\r'] ]]; then
    exit 0
fi
echo "salon-healthcheck: ${status_line%$'\r'}" >&2
exit 1
