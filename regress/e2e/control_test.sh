#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # functions run by topo_wait
#
# End-to-end tests of the control socket: site A of the two-site
# topology (topology.sh) with its own marconid; site B is not started,
# its pipe only waits.  A client written here in Python speaks the
# control protocol (common/ctl.h) without marconictl, to do what
# marconictl never does: ask without reading the answers.
#
# Every test case records the PIDs of what it starts in its work
# directory; its cleanup ends those processes, by PID only, and removes
# the namespaces, whatever the body did.  Every wait is bounded.

# ---------------------------------------------------------------------
# helpers

ct_init() {
	SRCDIR=$(cd "$(atf_get_srcdir)" && pwd)
	TOP=$(cd "$SRCDIR/../.." && pwd)
	# absolute: the daemon re-executes itself for each child
	MARCONID=$TOP/marconid/marconid
	MARCONICTL=$TOP/marconictl/marconictl
	# shellcheck source=topology.sh
	. "$SRCDIR/topology.sh"
	if [ -s prefix ]; then
		P=$(cat prefix)
	else
		P=mct$$
		echo "$P" > prefix
	fi
}

ct_head() {
	_timeout=${1:-120}
	[ $# -eq 0 ] || shift
	atf_set require.user root
	atf_set timeout "$_timeout"
	atf_set require.progs "ip openssl ps awk python3 $*"
}

ct_fail() {
	if [ -s a.log ]; then
		echo "--- site a: the last lines of its log" >&2
		tail -n 30 a.log >&2
	fi
	atf_fail "$(echo "$*" | tr -s '\n\t' '  ' | cut -c 1-400)"
}

ctl() {
	"$MARCONICTL" -s "$PWD/a.sock" "$@"
}

ctl_answers() {
	timeout 10 "$MARCONICTL" -s "$PWD/a.sock" show summary \
	    >/dev/null 2>&1
}

ctl_answers_or_dead() {
	ctl_answers || ! topo_alive "$(cat a.pid)"
}

record_helper() {
	echo "$1 $2" >> helpers.pids
}

is_prog() {
	topo_alive "$1" &&
	    tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"
}

none_ours() {
	for pid in "$@"; do
		is_prog "$pid" marconid && return 1
	done
	return 0
}

signal_ours() {
	sig=$1
	shift
	for pid in "$@"; do
		is_prog "$pid" marconid && kill -s "$sig" "$pid" 2>/dev/null
	done
	return 0
}

# A title as setproctitle(3) leaves it on Linux (see privsep_test.sh).
untail() {
	sed -E -e 's/^ *//' -e 's/([[:space:]]+\.)?[[:space:]]*$//'
}

# the PID of site A's child titled $1
kid_pid() {
	ps -o pid=,args= --ppid "$(cat a.pid)" 2>/dev/null | untail |
	    awk -v t="$1" '{ pid = $1; sub(/^[0-9]+ /, "");
		if ($0 == t) print pid }'
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# Site A over isp1 only, pinning site B, which never starts.
start_a() {
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	[ -x "$MARCONICTL" ] || atf_fail "$MARCONICTL is not built"
	id -u _marconid >/dev/null 2>&1 ||
	    atf_fail "user _marconid is missing (scripts/add-user)"
	topo_create "$P" || atf_fail "cannot build the topology"
	for n in site-a site-b; do
		site_identity "$PWD" "$n" ||
		    atf_fail "cannot make the identity of $n"
	done
	fpr=$(site_fingerprint site-b.crt) || atf_fail "no fingerprint"
	site_conf1 a "$PWD/a.conf" "$PWD/site-a.crt" "$PWD/site-a.key" \
	    "$fpr" || atf_fail "cannot write a.conf"

	ip netns exec "${P}a" "$MARCONID" -dv -f "$PWD/a.conf" \
	    -s "$PWD/a.sock" > a.log 2>&1 &
	echo $! > a.pid
	topo_wait 15 ctl_answers_or_dead || true
	topo_alive "$(cat a.pid)" || ct_fail "marconid exited at startup"
	ctl_answers || ct_fail "no answer on the control socket in 15 s"
	ps -o pid= --ppid "$(cat a.pid)" >> children.pids 2>/dev/null
}

ct_cleanup() {
	ct_init
	: > client.done
	if [ -f helpers.pids ]; then
		while read -r pid prog; do
			is_prog "$pid" "$prog" && kill -TERM "$pid" 2>/dev/null
		done < helpers.pids
	fi
	parents=""
	[ -f a.pid ] && parents=$(cat a.pid)
	pids="$parents $(cat children.pids 2>/dev/null)"
	# shellcheck disable=SC2086 # lists of PIDs
	signal_ours TERM $parents
	# shellcheck disable=SC2086
	if ! topo_wait 5 none_ours $pids; then
		# shellcheck disable=SC2086
		signal_ours KILL $pids
		# shellcheck disable=SC2086
		topo_wait 2 none_ours $pids
	fi
	topo_destroy "$P"
}

# The client: connects to the socket $1, writes up to $2 `show pipes`
# requests of version $3 without reading a byte, for at most $4
# seconds and until the socket has taken nothing for 3 s; then says
# how many went in "sent N" on stdout, and holds the connection open
# until the file $5 exists (at most 120 s).
write_client() {
	cat > ctlflood.py <<'EOPY'
import select, socket, struct, sys, time, os

path, count, version, secs, done = (sys.argv[1], int(sys.argv[2]),
    int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
IMSG_CTL_SHOW_PIPES = 3
# struct ctl_request: version, verbose, value, peer[32], uplink[32]
req = struct.pack("=IIi32s32s", version, 0, 0, b"", b"")
# struct imsg_hdr: type, len (with the header), peerid, pid
msg = struct.pack("=IIII", IMSG_CTL_SHOW_PIPES, 16 + len(req), 0, 0) + req
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.setblocking(False)
total = len(msg) * count
sent = 0
pending = b""
start = time.monotonic()
stalled = None
while sent < total and time.monotonic() - start < secs:
    _, w, _ = select.select([], [s], [], 0.2)
    if not w:
        now = time.monotonic()
        if stalled is None:
            stalled = now
        elif now - stalled > 3:
            break
        continue
    stalled = None
    if not pending:
        pending = msg * min(100, (total - sent) // len(msg))
    try:
        n = s.send(pending)
    except BlockingIOError:
        continue
    pending = pending[n:]
    sent += n
print("sent %d" % (sent // len(msg)), flush=True)
start = time.monotonic()
while not os.path.exists(done) and time.monotonic() - start < 120:
    time.sleep(0.1)
s.close()
EOPY
}

client_sent() {
	grep -q '^sent ' client.out 2>/dev/null
}

# ---------------------------------------------------------------------

atf_test_case no_reader cleanup
no_reader_head() {
	atf_set descr "A control client that writes 100000 show pipes" \
	    "requests and never reads the answers does not grow the" \
	    "engine's memory without bound, and another client is still" \
	    "answered meanwhile and afterwards"
	ct_head 180 timeout
}
no_reader_body() {
	ct_init
	start_a
	engine=$(kid_pid "marconid: engine")
	[ -n "$engine" ] || ct_fail "no engine process"
	rss0=$(rss_kb "$engine")
	version=$(awk '$2 == "CTL_VERSION" { print $3 }' "$TOP/common/ctl.h")
	[ -n "$version" ] || atf_fail "no CTL_VERSION in common/ctl.h"

	write_client
	python3 ctlflood.py "$PWD/a.sock" 100000 "$version" 60 \
	    "$PWD/client.done" > client.out 2> client.err &
	record_helper $! python3
	topo_wait 90 client_sent ||
	    ct_fail "the client did not finish writing in 90 s:" \
	    "$(cat client.err)"
	# what the engine read, it answers at once: give it a moment, and
	# keep the largest size seen
	rss1=0
	i=0
	while [ "$i" -lt 20 ]; do
		r=$(rss_kb "$engine")
		[ "${r:-0}" -gt "$rss1" ] && rss1=$r
		sleep 0.1
		i=$((i + 1))
	done
	grew=$((rss1 - rss0))
	echo "$(cat client.out) requests; engine RSS $rss0 kB before," \
	    "$rss1 kB after: +$grew kB"

	topo_alive "$engine" || ct_fail "the engine died"
	ctl_answers ||
	    ct_fail "no answer to another client while the first one hangs"
	[ "$grew" -lt 16384 ] ||
	    ct_fail "the engine grew by $grew kB for a client that does" \
	    "not read ($(cat client.out) requests)"

	: > client.done
	topo_wait 10 ctl_answers || ct_fail "no answer after the client left"
	[ "$(kid_pid "marconid: engine")" = "$engine" ] ||
	    ct_fail "the engine was restarted"
}
no_reader_cleanup() {
	ct_cleanup
}

atf_init_test_cases() {
	atf_add_test_case no_reader
}
