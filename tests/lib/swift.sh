# tests/lib/swift.sh — a throwaway OpenStack Swift with the s3api middleware on loopback,
# for tests that need an S3 server which really verifies SigV4 (see
# ../shared/S3-TEST-SERVER.md). Source it, then:
#
#   swift_start            # exports BO_TEST_S3_* and SWIFT_PIDS, SWIFT_DIR
#   ...run tests...
#   swift_stop             # kills exactly the PIDs it started, removes the directory
#
# Everything lives in one temp directory (it needs user xattrs: ext4/tmpfs /tmp work).
# Rings are built there; /etc/swift/swift.conf (installed by the swift package) supplies
# the hash prefix/suffix. About 300 MB RSS for the four servers.

# Prints N distinct free loopback TCP ports (held open together so they differ).
swift__free_ports() {
	/usr/bin/python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

swift__server_conf() { # type port dir
	cat >"$3/etc/$1-server.conf" <<EOF
[DEFAULT]
devices = $3/node
mount_check = false
bind_ip = 127.0.0.1
bind_port = $2
workers = 0
swift_dir = $3/etc
log_name = $1-server
log_level = WARNING

[pipeline:main]
pipeline = $1-server

[app:$1-server]
use = egg:swift#$1
EOF
}

swift_start() {
	local t d ports oport cport aport pport i
	if [ -n "${SWIFT_PIDS:-}" ]; then
		echo "swift_start: already running (SWIFT_PIDS=$SWIFT_PIDS)" >&2
		return 1
	fi
	for t in object container account proxy; do
		if [ ! -x "/usr/bin/swift-$t-server" ]; then
			echo "swift_start: /usr/bin/swift-$t-server missing (apt-get install swift-proxy swift-account swift-container swift-object)" >&2
			return 1
		fi
	done
	d=$(mktemp -d /tmp/bo-swift-XXXXXX) || return 1
	mkdir -p "$d/etc" "$d/node/d1" "$d/log"
	ports=$(swift__free_ports 4) || { rm -rf "$d"; return 1; }
	read -r oport cport aport pport <<<"$ports"

	for t in object:$oport container:$cport account:$aport; do
		local name=${t%%:*} port=${t##*:}
		if ! { swift-ring-builder "$d/etc/$name.builder" create 6 1 1 &&
			swift-ring-builder "$d/etc/$name.builder" add "r1z1-127.0.0.1:$port/d1" 100 &&
			swift-ring-builder "$d/etc/$name.builder" rebalance; } >"$d/log/ring-$name.log" 2>&1; then
			echo "swift_start: ring $name failed:" >&2
			cat "$d/log/ring-$name.log" >&2
			rm -rf "$d"
			return 1
		fi
		swift__server_conf "$name" "$port" "$d"
	done

	cat >"$d/etc/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $pport
workers = 0
swift_dir = $d/etc
log_name = proxy-server
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:cache]
use = egg:swift#memcache

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:bulk]
use = egg:swift#bulk

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo
EOF

	SWIFT_PIDS=
	for t in object container account proxy; do
		"/usr/bin/swift-$t-server" "$d/etc/$t-server.conf" >"$d/log/$t.log" 2>&1 &
		SWIFT_PIDS="$SWIFT_PIDS $!"
	done
	SWIFT_PIDS=${SWIFT_PIDS# }
	SWIFT_DIR=$d
	export SWIFT_PIDS SWIFT_DIR

	for i in $(seq 1 120); do
		if [ "$(curl -s --max-time 2 "http://127.0.0.1:$pport/healthcheck" 2>/dev/null)" = OK ]; then
			# The proxy may be up before the account/container/object servers; each of
			# them answers plain HTTP once it listens (any status but 000).
			local port up=1
			for port in $oport $cport $aport; do
				[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/")" = 000 ] && up=0
			done
			if [ "$up" = 1 ]; then
				export BO_TEST_S3_ENDPOINT="http://127.0.0.1:$pport"
				export BO_TEST_S3_ACCESS_KEY="test:tester"
				export BO_TEST_S3_SECRET_KEY="testing"
				export BO_TEST_S3_BUCKET="bo-test"
				export BO_TEST_S3_REGION="us-east-1"
				return 0
			fi
		fi
		for t in $SWIFT_PIDS; do
			if ! kill -0 "$t" 2>/dev/null; then
				echo "swift_start: a server exited early; logs:" >&2
				tail -n 20 "$d"/log/*.log >&2
				swift_stop
				return 1
			fi
		done
		sleep 0.5
	done
	echo "swift_start: no healthy proxy on port $pport after 60 s; logs:" >&2
	tail -n 20 "$d"/log/*.log >&2
	swift_stop
	return 1
}

swift_stop() {
	local p
	for p in ${SWIFT_PIDS:-}; do
		kill "$p" 2>/dev/null
	done
	for p in ${SWIFT_PIDS:-}; do
		wait "$p" 2>/dev/null
	done
	if [ -n "${SWIFT_DIR:-}" ] && [ -d "$SWIFT_DIR" ]; then
		rm -rf "$SWIFT_DIR"
	fi
	unset SWIFT_PIDS SWIFT_DIR BO_TEST_S3_ENDPOINT BO_TEST_S3_ACCESS_KEY BO_TEST_S3_SECRET_KEY \
		BO_TEST_S3_BUCKET BO_TEST_S3_REGION
	return 0
}
