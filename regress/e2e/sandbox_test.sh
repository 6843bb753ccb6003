#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # functions run by topo_wait
#
# End-to-end proof of the sandbox of the engine and of the pipe
# processes: what they run as, where they are chrooted, that the
# seccomp filter is on and that they hold no capability, seen from
# outside through /proc; and that a system call outside the allow-list
# (marconid/sandbox-linux.c) kills the process with SIGSYS, or fails
# with EACCES where the list says so.
#
# The forbidden calls come from the daemon's test build,
# regress/e2e/marconid-test: the same sources compiled with
# MARCONID_TEST_HOOKS, whose children try probe i of sandbox-linux.c
# from their event loop when they receive the signal SIGRTMIN + i (the
# daemon logs which signal is which).  marconid itself has none of it,
# and one test case checks that.
#
# Site A runs the daemon under test; site B, where a case needs a peer,
# runs marconid.  Every test case records the PIDs of what it starts in
# its work directory; its cleanup ends those processes, by PID only,
# and removes the namespaces, whatever the body did.  Every wait is
# bounded.

# ---------------------------------------------------------------------
# helpers

# Paths and the topology library; called first by every body and cleanup.
sb_init() {
	SRCDIR=$(cd "$(atf_get_srcdir)" && pwd)
	TOP=$(cd "$SRCDIR/../.." && pwd)
	# absolute: the daemon re-executes itself for each child
	MARCONID=$TOP/marconid/marconid
	MARCONID_TEST=$SRCDIR/marconid-test
	MARCONICTL=$TOP/marconictl/marconictl
	# shellcheck source=topology.sh
	. "$SRCDIR/topology.sh"
	# shellcheck source=common.sh
	. "$SRCDIR/common.sh"
	if [ -s prefix ]; then
		P=$(cat prefix)
	else
		P=msb$$
		echo "$P" > prefix
	fi
	DUSER=_marconid
	DUID=$(id -u "$DUSER" 2>/dev/null)
	DGID=$(id -g "$DUSER" 2>/dev/null)
}

# sb_head [TIMEOUT [PROGRAM...]]: what every test case needs, and what
# this one needs besides
sb_head() {
	_timeout=${1:-120}
	[ $# -eq 0 ] || shift
	atf_set require.user root
	atf_set timeout "$_timeout"
	atf_set require.progs "ip nft openssl ping ps setpriv $*"
}

# Fails the test case, after showing the daemons' logs for the report.
sb_fail() {
	for f in a.log b.log; do
		if [ -s "$f" ]; then
			echo "--- $f" >&2
			tail -n 60 "$f" >&2
		fi
	done
	atf_fail "$*"
}

kids() {
	ps -o pid=,args= --ppid "$1" 2>/dev/null | untail
}

# kid_pid SITE TITLE: the PID of the child of site SITE's parent titled
# TITLE
kid_pid() {
	kids "$(cat "$1.pid")" | awk -v t="$2" '
	    { pid = $1; sub(/^[0-9]+ /, ""); if ($0 == t) print pid }'
}

three_kids() {
	[ -n "$(kid_pid a "marconid: engine")" ] &&
	    [ -n "$(kid_pid a "marconid: pipe isp1")" ] &&
	    [ -n "$(kid_pid a "marconid: pipe isp2")" ]
}

record_kids() {
	kids "$(cat "$1.pid")" | awk '{ print $1 }' >> children.pids
}

# The state of site A's pipe over uplink $1.
pipe_state() {
	ctl a show pipes 2>/dev/null | awk -v up="$1" '
	    NR == 1 { for (i = 1; i <= NF; i++) if ($i == "STATE") c = i; next }
	    $2 == up && c { print $c }'
}

both_up() {
	[ "$(pipe_state isp1)" = up ] && [ "$(pipe_state isp2)" = up ]
}

make_sites() {
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	[ -x "$MARCONID_TEST" ] || atf_fail "$MARCONID_TEST is not built"
	[ -x "$MARCONICTL" ] || atf_fail "$MARCONICTL is not built"
	[ -n "$DUID" ] || atf_fail "user $DUSER is missing (scripts/add-user)"

	topo_create "$P" || atf_fail "cannot build the topology"
	site_identity "$PWD" site-a || atf_fail "cannot make site A's identity"
	site_identity "$PWD" site-b || atf_fail "cannot make site B's identity"
	FPR_A=$(site_fingerprint site-a.crt) || atf_fail "no fingerprint"
	FPR_B=$(site_fingerprint site-b.crt) || atf_fail "no fingerprint"
	site_conf a "$PWD/a.conf" "$PWD/site-a.crt" "$PWD/site-a.key" \
	    "$FPR_B" || atf_fail "cannot write a.conf"
	site_conf b "$PWD/b.conf" "$PWD/site-b.crt" "$PWD/site-b.key" \
	    "$FPR_A" || atf_fail "cannot write b.conf"
}

# start_site SITE PROGRAM: the daemon in its namespace, in the
# foreground, its log in SITE.log (appended to: site A is started more
# than once in a test case); waits for its control socket and, for
# site A, its three children.
start_site() {
	echo "--- start of $2" >> "$1.log"
	ip netns exec "$P$1" "$2" -d -f "$PWD/$1.conf" \
	    -s "$PWD/$1.sock" >> "$1.log" 2>&1 &
	echo $! > "$1.pid"
	echo $! >> parents.pids

	topo_wait 15 ctl_answers_or_dead "$1" || true
	topo_alive "$(cat "$1.pid")" || sb_fail "marconid of site $1 exited" \
	    "at startup"
	ctl_answers "$1" ||
	    sb_fail "no answer on site $1's control socket in 15 s"
	if [ "$1" = a ]; then
		topo_wait 10 three_kids || sb_fail "the three children of" \
		    "site A did not appear in 10 s"
	fi
	record_kids "$1"
}

sb_cleanup() {
	sb_init
	parents=$(cat parents.pids 2>/dev/null)
	pids="$parents $(cat children.pids 2>/dev/null)"
	# the parents first: they end their children themselves
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

# status_field PID NAME: the value of NAME: in /proc/PID/status
status_field() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null |
	    tr -s '[:space:]' ' ' | sed 's/ $//'
}

# The signal with which the test build's children try probe $1, as the
# daemon logged it at startup (site A's log).
probe_signal() {
	sed -n "s/.*sandbox test: signal \([0-9][0-9]*\): $1\$/\1/p" a.log |
	    head -n 1
}

# probe PID NAME: sends process PID the signal of probe NAME.
probe() {
	_sig=$(probe_signal "$2")
	[ -n "$_sig" ] || sb_fail "the daemon did not log a signal for $2"
	kill -s "$_sig" "$1" || sb_fail "cannot signal $1"
}

gone() {
	! topo_alive "$1"
}

# true while the parent of site A has a child titled $1
has_kid() {
	[ -n "$(kid_pid a "$1")" ]
}

# logged PATTERN: true once site A's log has a line matching PATTERN
logged() {
	grep -Eq "$1" a.log
}

# probe_kills_pipe UPLINK NAME: probe NAME in site A's pipe process of
# UPLINK must kill it with SIGSYS, as the parent's log says.
probe_kills_pipe() {
	_up=$1
	_name=$2
	_pid=$(kid_pid a "marconid: pipe $_up")
	[ -n "$_pid" ] || sb_fail "no pipe $_up process"
	probe "$_pid" "$_name"
	topo_wait 5 gone "$_pid" ||
	    sb_fail "pipe $_up ($_pid) lives 5 s after $_name"
	topo_wait 5 logged "uplink $_up: process $_pid terminated by signal" ||
	    sb_fail "the parent did not log the end of pipe $_up ($_pid)"
	logged "uplink $_up: process $_pid terminated by signal 31 " ||
	    sb_fail "$_name did not end pipe $_up with SIGSYS:" \
	    "$(grep "process $_pid " a.log)"
	logged "pid $_pid: $_name (allowed|failed)" &&
	    sb_fail "$_name returned in pipe $_up before it died"
	return 0
}

# probe_returns TITLE NAME RESULT: probe NAME in site A's child TITLE
# must return RESULT ("allowed" or "failed: <error>"), and the child
# live on.
probe_returns() {
	_pid=$(kid_pid a "$1")
	[ -n "$_pid" ] || sb_fail "no process $1"
	probe "$_pid" "$2"
	topo_wait 5 logged "pid $_pid: $2 (allowed|failed)" ||
	    sb_fail "$1 ($_pid) said nothing after $2"
	logged "pid $_pid: $2 $3\$" || sb_fail "$2 in $1 ($_pid): not" \
	    "\"$3\" but \"$(grep "pid $_pid: $2 " a.log)\""
	sleep 0.2
	[ "$(kid_pid a "$1")" = "$_pid" ] ||
	    sb_fail "$1 ($_pid) did not survive $2"
}

# kernel_log FILE: the kernel's log now, where the kernel records what
# seccomp killed (audit type 1326) when no audit daemon takes it
kernel_log() {
	dmesg > "$1" 2>/dev/null || : > "$1"
}

# seccomp_records OLD NEW PID: the seccomp audit records of process PID
# in the kernel log NEW that were not in OLD
seccomp_records() {
	grep -vxF -f "$1" "$2" | grep 'type=1326' | grep " pid=$3 "
}

# ---------------------------------------------------------------------

atf_test_case confined cleanup
confined_head() {
	atf_set descr "The engine and both pipe processes of marconid run" \
	    "as _marconid with no other group, chrooted to its empty home" \
	    "that it cannot write to, with no new privileges, no" \
	    "capability and a seccomp filter"
	sb_head
}
confined_body() {
	sb_init
	make_sites
	start_site a "$MARCONID"

	home=$(getent passwd "$DUSER" | cut -d: -f6)
	[ -n "$home" ] || atf_fail "$DUSER has no home"
	[ -d "$home" ] || atf_fail "$DUSER's home $home is missing"
	[ -z "$(ls -A "$home")" ] ||
	    atf_fail "$home is not empty: $(ls -A "$home" | tr '\n' ' ')"
	if setpriv --reuid="$DUID" --regid="$DGID" --clear-groups \
	    test -w "$home"; then
		atf_fail "$DUSER can write to $home"
	fi
	# and the test above can tell: a directory it owns is writable
	mkdir own
	chown "$DUID:$DGID" own
	setpriv --reuid="$DUID" --regid="$DGID" --clear-groups \
	    test -w "$PWD/own" || atf_fail "the write check cannot see a" \
	    "writable directory"

	# where a sanitizer build writes its reports (make check-sanitize)
	SANITIZER_LOG=$(echo "${ASAN_OPTIONS:-}" | tr ':' '\n' |
	    sed -n 's/^log_path=//p')

	for t in "marconid: engine" "marconid: pipe isp1" \
	    "marconid: pipe isp2"; do
		pid=$(kid_pid a "$t")
		[ -n "$pid" ] || sb_fail "no process $t"
		v=$(status_field "$pid" Uid)
		[ "$v" = "$DUID $DUID $DUID $DUID" ] ||
		    sb_fail "$t ($pid) has uids $v, not $DUID"
		v=$(status_field "$pid" Gid)
		[ "$v" = "$DGID $DGID $DGID $DGID" ] ||
		    sb_fail "$t ($pid) has gids $v, not $DGID"
		v=$(status_field "$pid" Groups)
		[ -z "$v" ] || [ "$v" = "$DGID" ] ||
		    sb_fail "$t ($pid) keeps the groups $v"
		v=$(readlink "/proc/$pid/root")
		[ "$v" = "$home" ] ||
		    sb_fail "$t ($pid) is chrooted to \"$v\", not $home"
		v=$(readlink "/proc/$pid/cwd")
		[ "$v" = "$home" ] ||
		    sb_fail "$t ($pid) works in \"$v\", not $home"
		v=$(status_field "$pid" Seccomp)
		[ "$v" = 2 ] || sb_fail "$t ($pid): Seccomp $v, not 2 (filter)"
		v=$(status_field "$pid" NoNewPrivs)
		[ "$v" = 1 ] || sb_fail "$t ($pid): NoNewPrivs $v, not 1"
		for c in CapInh CapPrm CapEff CapAmb; do
			v=$(status_field "$pid" $c)
			[ "$v" = 0000000000000000 ] ||
			    sb_fail "$t ($pid): $c $v, not 0"
		done
		# no file of the host is open: only sockets, pipes, the
		# epoll instance, /dev/null and the engine's tun device
		# (0 to 2 are this test's log in the foreground; a
		# sanitizer build's report file is opened on purpose)
		for fd in /proc/"$pid"/fd/*; do
			n=${fd##*/}
			[ "$n" -gt 2 ] || continue
			v=$(readlink "$fd") || continue
			case "$v" in
			socket:*|pipe:*|anon_inode:*|/dev/null|/dev/net/tun)
				;;
			"$SANITIZER_LOG".*)
				[ -n "$SANITIZER_LOG" ] ||
				    sb_fail "$t ($pid) holds $v on descriptor $n"
				;;
			*)
				sb_fail "$t ($pid) holds $v on descriptor $n"
				;;
			esac
		done
	done
}
confined_cleanup() {
	sb_cleanup
}

atf_test_case hooks_only_in_test_build
hooks_only_in_test_build_head() {
	atf_set descr "The probes of the sandbox are in the test build" \
	    "only: marconid has neither their code nor their messages"
	atf_set require.progs "nm"
	atf_set timeout 30
}
hooks_only_in_test_build_body() {
	sb_init
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	[ -x "$MARCONID_TEST" ] || atf_fail "$MARCONID_TEST is not built"

	# the test build has them: the checks below can see them
	grep -q 'sandbox test: signal' "$MARCONID_TEST" ||
	    atf_fail "the test build has no probe message"
	nm "$MARCONID_TEST" | grep -q ' sandbox_probe' ||
	    atf_fail "the test build has no probe table"

	grep -q 'pipe test: signal' "$MARCONID_TEST" ||
	    atf_fail "the test build has no pipe test message"
	if grep -q 'sandbox test: ' "$MARCONID"; then
		atf_fail "marconid has the probes' messages"
	fi
	if grep -q 'pipe test: ' "$MARCONID"; then
		atf_fail "marconid has the pipe test hooks' messages"
	fi
	nm "$MARCONID" | grep -E ' (sandbox_probe|sandbox_test|pipe_test)' \
	    > symbols
	[ ! -s symbols ] ||
	    atf_fail "marconid has probe symbols: $(tr '\n' ' ' < symbols)"
}

atf_test_case pipe_forbidden cleanup
pipe_forbidden_head() {
	atf_set descr "In a pipe process, a system call outside the" \
	    "allow-list kills it with SIGSYS and the parent restarts it;" \
	    "a datagram socket fails with EACCES; afterwards the pipes" \
	    "come back up and carry traffic"
	sb_head 180
}
pipe_forbidden_body() {
	sb_init
	make_sites
	start_site a "$MARCONID_TEST"
	start_site b "$MARCONID"
	topo_wait 20 both_up || sb_fail "the pipes are not up in 20 s:" \
	    "isp1 \"$(pipe_state isp1)\", isp2 \"$(pipe_state isp2)\""

	# the uplinks take turns, so that each waits out the back-off of
	# its last restart only (1, 2, 4, 8 s)
	up=isp1
	for name in execve open ptrace socket-packet socket-tcp mmap-exec \
	    mprotect-exec fork kill setuid; do
		title="marconid: pipe $up"
		topo_wait 20 has_kid "$title" ||
		    sb_fail "no $title process"
		probe_kills_pipe "$up" "$name"
		echo "pipe $up: $name: SIGSYS"
		record_kids a
		if [ "$up" = isp1 ]; then up=isp2; else up=isp1; fi
	done
	for up in isp1 isp2; do
		topo_wait 20 has_kid "marconid: pipe $up" ||
		    sb_fail "pipe $up was not restarted in 20 s"
	done
	record_kids a

	for up in isp1 isp2; do
		probe_returns "marconid: pipe $up" socket-udp \
		    "failed: Permission denied"
		probe_returns "marconid: pipe $up" getpid allowed
	done

	# the restarted processes are sandboxed as the first ones were
	for up in isp1 isp2; do
		pid=$(kid_pid a "marconid: pipe $up")
		[ "$(status_field "$pid" Seccomp)" = 2 ] ||
		    sb_fail "the new pipe $up ($pid) has no seccomp filter"
	done
	topo_alive "$(cat a.pid)" || sb_fail "site A's parent died"
	topo_wait 30 both_up || sb_fail "the pipes did not come back up" \
	    "in 30 s: isp1 \"$(pipe_state isp1)\", isp2" \
	    "\"$(pipe_state isp2)\""
	topo_ping "${P}a" 198.19.0.2 10 ||
	    sb_fail "site B does not answer across the pipes"
}
pipe_forbidden_cleanup() {
	sb_cleanup
}

# The signal with which the test build's uplink processes make the
# request $1 of the parent (pipe.c), as site A's log says.
pipe_hook() {
	_sig=$(sed -n "s/.*pipe test: signal \([0-9][0-9]*\): $2\$/\1/p" \
	    a.log | head -n 1)
	[ -n "$_sig" ] || sb_fail "the daemon did not log a signal for $2"
	kill -s "$_sig" "$1" || sb_fail "cannot signal $1"
}

nfds() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

atf_test_case connect_requests cleanup
connect_requests_head() {
	atf_set descr "The parent answers a connect request that a reload" \
	    "made stale without a descriptor and keeps the process, ends" \
	    "one that sends a malformed request, and holds a bounded" \
	    "number of descriptors for one that asks 2,000 times and" \
	    "never reads, staying up"
	sb_head 180
}
connect_requests_body() {
	sb_init
	make_sites
	start_site a "$MARCONID_TEST"
	start_site b "$MARCONID"
	topo_wait 20 both_up || sb_fail "the pipes are not up in 20 s:" \
	    "isp1 \"$(pipe_state isp1)\", isp2 \"$(pipe_state isp2)\""
	parent=$(cat a.pid)

	pid=$(kid_pid a "marconid: pipe isp1")
	[ -n "$pid" ] || sb_fail "no pipe isp1 process"
	pipe_hook "$pid" connect-stale
	topo_wait 5 logged "pid $pid: connect-stale" ||
	    sb_fail "pipe isp1 ($pid) did not make its stale request"
	sleep 1
	[ "$(kid_pid a "marconid: pipe isp1")" = "$pid" ] ||
	    sb_fail "a stale connect request ended pipe isp1 ($pid)"
	logged "uplink isp1: .*restarting its process" &&
	    sb_fail "the parent restarted pipe isp1 for a stale request"

	pipe_hook "$pid" connect-malformed
	topo_wait 5 gone "$pid" ||
	    sb_fail "pipe isp1 ($pid) lives 5 s after a malformed request"
	logged "uplink isp1: unexpected or bad IMSG_CONNECT" ||
	    sb_fail "the parent did not say why it ended pipe isp1"
	record_kids a

	before=$(nfds "$parent")
	pid=$(kid_pid a "marconid: pipe isp2")
	[ -n "$pid" ] || sb_fail "no pipe isp2 process"
	pipe_hook "$pid" connect-flood
	topo_wait 5 logged "pid $pid: connect-flood" ||
	    sb_fail "pipe isp2 ($pid) did not flood"
	most=$before
	i=0
	while [ "$i" -lt 30 ]; do
		n=$(nfds "$parent")
		[ "$n" -gt "$most" ] && most=$n
		sleep 0.1
		i=$((i + 1))
	done
	echo "the parent had $before descriptors, at most $most during" \
	    "2,000 connect requests never read"
	topo_alive "$parent" || sb_fail "site A's parent died"
	[ "$most" -le $((before + 40)) ] ||
	    sb_fail "the parent held $most descriptors, $before before"
	logged "uplink isp2: [0-9]+ answers not read" ||
	    sb_fail "the parent did not stop reading pipe isp2"
	ctl_answers a || sb_fail "site A no longer answers"
	topo_wait 20 has_kid "marconid: pipe isp1" ||
	    sb_fail "pipe isp1 was not restarted in 20 s"
	record_kids a
}
connect_requests_cleanup() {
	sb_cleanup
}

atf_test_case engine_forbidden cleanup
engine_forbidden_head() {
	atf_set descr "In the engine, a system call outside the allow-list" \
	    "kills it with SIGSYS and the parent shuts down (no restart of" \
	    "the engine); a datagram socket fails with EACCES; an allowed" \
	    "call leaves it running"
	sb_head 180
}
engine_forbidden_body() {
	sb_init
	make_sites

	for name in execve open ptrace socket-packet socket-tcp mmap-exec \
	    mprotect-exec fork kill setuid; do
		start_site a "$MARCONID_TEST"
		ppid=$(cat a.pid)
		pid=$(kid_pid a "marconid: engine")
		probe "$pid" "$name"
		topo_wait 5 gone "$pid" ||
		    sb_fail "the engine ($pid) lives 5 s after $name"
		topo_wait 10 gone "$ppid" ||
		    sb_fail "the parent lives 10 s after the engine died"
		wait "$ppid"
		rc=$?
		[ "$rc" -eq 1 ] ||
		    sb_fail "the parent exited $rc after the engine died"
		logged "engine terminated by signal 31 " ||
		    sb_fail "$name did not end the engine with SIGSYS:" \
		    "$(grep '^engine ' a.log)"
		logged "pid $pid: $name (allowed|failed)" &&
		    sb_fail "$name returned in the engine before it died"
		echo "engine: $name: SIGSYS"
		mv a.log "a-$name.log"
	done

	start_site a "$MARCONID_TEST"
	probe_returns "marconid: engine" socket-udp "failed: Permission denied"
	probe_returns "marconid: engine" getpid allowed
	ctl_answers a || sb_fail "the engine no longer answers marconictl"
}
engine_forbidden_cleanup() {
	sb_cleanup
}

atf_test_case clean_exit cleanup
clean_exit_head() {
	atf_set descr "On SIGTERM the engine and the pipe processes, after" \
	    "TLS sessions, exit without a system call outside the" \
	    "allow-list (libcrypto's clean-up at exit among them), as the" \
	    "kernel's seccomp records show"
	sb_head 120 dmesg
}
clean_exit_body() {
	sb_init
	make_sites
	start_site a "$MARCONID_TEST"
	start_site b "$MARCONID"
	topo_wait 20 both_up || sb_fail "the pipes are not up in 20 s"

	# the kernel log must show a kill, or it cannot show one at exit
	kernel_log k0
	pid=$(kid_pid a "marconid: pipe isp1")
	probe "$pid" execve
	topo_wait 5 gone "$pid" || sb_fail "pipe isp1 ($pid) survived execve"
	sleep 0.5
	kernel_log k1
	if ! seccomp_records k0 k1 "$pid" | grep -q ' sig=31 '; then
		atf_skip "the kernel log has no seccomp records (an audit" \
		    "daemon takes them, or dmesg is restricted)"
	fi
	topo_wait 20 has_kid "marconid: pipe isp1" ||
	    sb_fail "pipe isp1 was not restarted"
	record_kids a
	topo_wait 20 both_up || sb_fail "the pipes did not come back up"

	ppid=$(cat a.pid)
	kids=$(kids "$ppid" | awk '{ print $1 }')
	[ "$(echo "$kids" | wc -w)" -eq 3 ] ||
	    sb_fail "site A has not three children: $kids"
	kernel_log k2
	kill -TERM "$ppid"
	topo_wait 10 gone "$ppid" || sb_fail "site A lives 10 s after SIGTERM"
	wait "$ppid"
	rc=$?
	[ "$rc" -eq 0 ] || sb_fail "site A exited $rc after SIGTERM"
	sleep 0.5
	kernel_log k3
	for pid in $kids; do
		r=$(seccomp_records k2 k3 "$pid")
		[ -z "$r" ] || sb_fail "process $pid was killed on its way" \
		    "out: $r"
	done
}
clean_exit_cleanup() {
	sb_cleanup
}

atf_init_test_cases() {
	atf_add_test_case confined
	atf_add_test_case hooks_only_in_test_build
	atf_add_test_case pipe_forbidden
	atf_add_test_case engine_forbidden
	atf_add_test_case connect_requests
	atf_add_test_case clean_exit
}
