# Helpers shared by the end-to-end tests: a shell library sourced after
# topology.sh (it uses topo_alive) by each *_test.sh.  Not run on its
# own.  The caller sets MARCONICTL to the marconictl to run; a site's
# control socket is $PWD/SITE.sock, in the test case's work directory.
#
#	ctl SITE [-j] ARGS...		runs marconictl ARGS on SITE's socket
#	ctl_answers SITE		true once SITE's daemon answers
#	ctl_answers_or_dead SITE	true once it answers or the PID in
#					SITE.pid has exited
#	jpipe SITE UPLINK FILTER	prints the jq FILTER of the pipe over
#					UPLINK in `show pipes -j` ("" for null)
#	now_ms				prints the time in milliseconds
#	record_helper PID PROG		records a helper (iperf3, ping...) in
#					helpers.pids for the cleanup
#	is_prog PID PATTERN		true while PID runs and its command
#					line matches PATTERN
#	is_marconid PID			true while PID runs and is a marconid
#	none_ours PID...		true if no PID is a running marconid
#	signal_ours SIGNAL PID...	sends SIGNAL to those PIDs that are a
#					running marconid, by PID only
#	untail				a process title as setproctitle(3)
#					leaves it on Linux, without what pads
#					it (see privsep_test.sh), stdin to
#					stdout
#
# PIDs are checked before a signal is sent, so that a PID reused by
# another program since it was recorded is left alone.

ctl() {
	_site=$1
	shift
	if [ "${1:-}" = -j ]; then
		shift
		"$MARCONICTL" -j -s "$PWD/$_site.sock" "$@"
	else
		"$MARCONICTL" -s "$PWD/$_site.sock" "$@"
	fi
}

ctl_answers() {
	ctl "$1" show summary >/dev/null 2>&1
}

ctl_answers_or_dead() {
	ctl_answers "$1" || ! topo_alive "$(cat "$1.pid")"
}

jpipe() {
	ctl "$1" -j show pipes 2>/dev/null | jq -r \
	    ".pipes[] | select(.uplink == \"$2\") | $3" 2>/dev/null |
	    sed 's/^null$//'
}

now_ms() {
	date +%s%3N
}

record_helper() {
	echo "$1 $2" >> helpers.pids
}

is_prog() {
	topo_alive "$1" &&
	    tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"
}

is_marconid() {
	is_prog "$1" marconid
}

none_ours() {
	for pid in "$@"; do
		is_marconid "$pid" && return 1
	done
	return 0
}

signal_ours() {
	sig=$1
	shift
	for pid in "$@"; do
		is_marconid "$pid" && kill -s "$sig" "$pid" 2>/dev/null
	done
	return 0
}

untail() {
	sed -E -e 's/^ *//' -e 's/([[:space:]]+\.)?[[:space:]]*$//'
}
