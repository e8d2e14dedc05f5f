# tests/lib/smtp.sh — a real SMTP server on loopback for tests that read the mails the
# backoffice sends: Debian's python3-aiosmtpd with its Maildir handler (each message is a
# file under DIR/new/). Source it (after common.sh), then:
#
#   smtp_start DIR [PORT]        # exports SMTP_PORT and SMTP_PID; PORT reuses a port (restart)
#   smtp_wait_mail DIR PATTERN [TIMEOUT]   # waits for a message matching PATTERN (grep -E)
#   smtp_count_mail DIR PATTERN  # prints how many messages match
#   smtp_stop                    # kills exactly the PID it started
#
# Started servers are also added to EXTRA_PIDS, so common.sh's EXIT trap stops them.

smtp_start() {
	local dir=$1 port=${2:-}
	if [ -n "${SMTP_PID:-}" ]; then
		echo "smtp_start: already running (SMTP_PID=$SMTP_PID)" >&2
		return 1
	fi
	/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null ||
		{ echo "smtp_start: python3-aiosmtpd is missing (make deps-test)" >&2; return 1; }
	[ -n "$port" ] || port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
	# a Maildir: aiosmtpd creates the subdirectories only when DIR does not exist yet
	mkdir -p "$dir/tmp" "$dir/new" "$dir/cur"
	/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Mailbox "$dir" \
		>>"$dir.log" 2>&1 &
	SMTP_PID=$!
	SMTP_PORT=$port
	export SMTP_PID SMTP_PORT
	if declare -p EXTRA_PIDS >/dev/null 2>&1; then EXTRA_PIDS+=("$SMTP_PID"); fi
	local _
	for _ in $(seq 1 100); do
		# a TCP connect (bash's /dev/tcp) succeeds once the server listens
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
		if ! kill -0 "$SMTP_PID" 2>/dev/null; then
			echo "smtp_start: aiosmtpd exited; log:" >&2
			tail -20 "$dir.log" >&2
			unset SMTP_PID
			return 1
		fi
		sleep 0.1
	done
	echo "smtp_start: nothing listens on 127.0.0.1:$port after 10 s" >&2
	smtp_stop
	return 1
}

smtp_stop() {
	[ -n "${SMTP_PID:-}" ] || return 0
	kill "$SMTP_PID" 2>/dev/null || true
	wait "$SMTP_PID" 2>/dev/null || true
	unset SMTP_PID
	return 0
}

# Prints how many delivered messages in DIR match the extended regex PATTERN.
smtp_count_mail() {
	local dir=$1 pattern=$2
	[ -d "$dir/new" ] || { echo 0; return 0; }
	grep -lE -- "$pattern" "$dir"/new/* 2>/dev/null | wc -l
}

# Waits until a delivered message in DIR matches PATTERN; prints its path.
smtp_wait_mail() {
	local dir=$1 pattern=$2 limit=${3:-30} f _
	for _ in $(seq 1 $((limit * 10))); do
		if [ -d "$dir/new" ]; then
			f=$(grep -lE -- "$pattern" "$dir"/new/* 2>/dev/null | head -1 || true)
			if [ -n "$f" ]; then echo "$f"; return 0; fi
		fi
		sleep 0.1
	done
	echo "smtp_wait_mail: no message matching '$pattern' in $dir after ${limit}s; have:" >&2
	grep -h '^Subject:' "$dir"/new/* 2>/dev/null >&2 || true
	return 1
}
