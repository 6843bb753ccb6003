#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
#
# End-to-end tests of the process model of marconid: the real daemon in
# site A of the two-site topology (topology.sh), looked at from outside
# through /proc, ps, ip and marconictl.
#
# Every test case records the PIDs of what it starts in its work
# directory; its cleanup ends those processes, by PID only, and removes
# the namespaces, whatever the body did.  Every wait is bounded.

# ---------------------------------------------------------------------
# helpers

# Paths and the topology library; called first by every body and cleanup.
e2e_init() {
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
		P=mc$$
		echo "$P" > prefix
	fi
	DUSER=_marconid
	DUID=$(id -u "$DUSER" 2>/dev/null)
}

e2e_head() {
	atf_set require.user root
	atf_set timeout 120
	atf_set require.progs "ip nft openssl ping ps"
}

# Fails the test case, after showing the daemon's log for the report.
e2e_fail() {
	for f in a.log a2.log; do
		if [ -s "$f" ]; then
			echo "--- $f" >&2
			tail -n 50 "$f" >&2
		fi
	done
	atf_fail "$*"
}

ctl() {
	"$MARCONICTL" -s "$PWD/a.sock" "$@"
}

parent_pid() {
	cat daemon.pid
}

# A title as set by setproctitle(3), without what pads it to the size
# of the original command line: on Linux, libbsd fills that with NULs
# (shown as spaces) and puts a "." where argv[0] ended when the title is
# shorter.  proc_title() makes the kernel show the title alone, which
# exact_titles checks; the other cases do not depend on it.
untail() {
	sed -E -e 's/^ *//' -e 's/([[:space:]]+\.)?[[:space:]]*$//'
}

# "PID TITLE" for each child of process $1
kids() {
	ps -o pid=,args= --ppid "$1" 2>/dev/null | untail
}

title_of() {
	ps -o args= -p "$1" 2>/dev/null | untail
}

# the PID of the parent's child titled $1
kid_pid() {
	kids "$(parent_pid)" | awk -v t="$1" '
	    { pid = $1; sub(/^[0-9]+ /, ""); if ($0 == t) print pid }'
}

three_kids() {
	[ -n "$(kid_pid "marconid: engine")" ] &&
	    [ -n "$(kid_pid "marconid: pipe isp1")" ] &&
	    [ -n "$(kid_pid "marconid: pipe isp2")" ]
}

# is PID one of ours?  Guards against a PID taken by someone else since.
is_marconid() {
	topo_alive "$1" &&
	    tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q marconid
}

ctl_answers() {
	ctl show summary >/dev/null 2>&1
}

# column $2 (named by the header) of the row of `show pipes` for uplink $1
pipe_col() {
	ctl show pipes 2>/dev/null | awk -v up="$1" -v col="$2" '
	    NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
	    $2 == up && c { print $c }'
}

pref_is() {
	[ "$(pipe_col "$1" PREF)" = "$2" ]
}

# Builds the sites, makes both identities, writes a.conf with the
# preferences $1 and $2 (10 and 20 unless told), starts the daemon in
# site A and waits for its control socket and its three children.
start_site_a() {
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	[ -x "$MARCONICTL" ] || atf_fail "$MARCONICTL is not built"
	[ -n "$DUID" ] || atf_fail "user $DUSER is missing (scripts/add-user)"

	topo_create "$P" || atf_fail "cannot build the topology"
	site_identity "$PWD" site-a || atf_fail "cannot make site A's identity"
	site_identity "$PWD" site-b || atf_fail "cannot make site B's identity"
	FPR_B=$(site_fingerprint site-b.crt) || atf_fail "no fingerprint"
	echo "$FPR_B" > fpr-b
	write_a_conf a.conf "${1:-10}" "${2:-20}"

	ip netns exec "${P}a" "$MARCONID" -d -f "$PWD/a.conf" \
	    -s "$PWD/a.sock" > a.log 2>&1 &
	echo $! > daemon.pid

	topo_wait 15 ctl_answers_or_dead || true
	topo_alive "$(parent_pid)" || e2e_fail "marconid exited at startup"
	ctl_answers || e2e_fail "no answer on the control socket in 15 s"
	topo_wait 10 three_kids || e2e_fail "the three children did not" \
	    "appear in 10 s: $(kids "$(parent_pid)" | tr '\n' ';')"
	record_kids
}

# stops waiting early when the daemon died
ctl_answers_or_dead() {
	ctl_answers || ! topo_alive "$(parent_pid)"
}

write_a_conf() {
	site_conf a "$PWD/$1" "$PWD/site-a.crt" "$PWD/site-a.key" \
	    "$(cat fpr-b)" "$2" "$3" ${4:+"$4"} ${5:+"$5"} ||
	    atf_fail "cannot write $1"
}

record_kids() {
	kids "$(parent_pid)" | awk '{ print $1 }' >> children.pids
}

# The cleanup of every test case: what we started, by PID, then the
# namespaces (which also ends whatever is left inside them).
e2e_cleanup() {
	e2e_init
	parents=""
	for f in daemon.pid daemon2.pid; do
		[ -f "$f" ] && parents="$parents $(cat "$f")"
	done
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

# signals those of the PIDs that are still marconid
signal_ours() {
	sig=$1
	shift
	for pid in "$@"; do
		is_marconid "$pid" && kill -s "$sig" "$pid" 2>/dev/null
	done
	return 0
}

none_ours() {
	for pid in "$@"; do
		is_marconid "$pid" && return 1
	done
	return 0
}

none_alive() {
	for pid in "$@"; do
		topo_alive "$pid" && return 1
	done
	return 0
}

# true once the parent has a child titled $1 whose PID is not $2
replaced() {
	n=$(kid_pid "$1")
	[ -n "$n" ] && [ "$n" != "$2" ]
}

# ---------------------------------------------------------------------

atf_test_case titles_users_sandbox cleanup
titles_users_sandbox_head() {
	atf_set descr "The parent runs as root, its three children as" \
	    "_marconid, chrooted to /var/empty and under seccomp; the" \
	    "control socket answers and the tap interface is configured"
	e2e_head
}
titles_users_sandbox_body() {
	e2e_init
	start_site_a
	ppid=$(parent_pid)

	[ "$(title_of "$ppid")" = "marconid: parent" ] ||
	    e2e_fail "parent title is \"$(title_of "$ppid")\""
	grep -Eq '^Uid:[[:space:]]+0[[:space:]]+0[[:space:]]+0[[:space:]]+0$' \
	    "/proc/$ppid/status" || e2e_fail "the parent does not run as root"

	titles=$(kids "$ppid" | sed 's/^[0-9]* //' | sort | tr '\n' ';')
	[ "$titles" = "marconid: engine;marconid: pipe isp1;marconid: pipe isp2;" ] ||
	    e2e_fail "the parent's children are: $titles"

	for t in "marconid: engine" "marconid: pipe isp1" \
	    "marconid: pipe isp2"; do
		pid=$(kid_pid "$t")
		st=/proc/$pid/status
		grep -Eq "^Uid:[[:space:]]+${DUID}[[:space:]]+${DUID}[[:space:]]+${DUID}[[:space:]]+${DUID}\$" \
		    "$st" || e2e_fail "$t ($pid) does not run as $DUSER:" \
		    "$(grep ^Uid: "$st")"
		# no supplementary group but its own, if any
		grep -Eq "^Groups:[[:space:]]*($(id -g "$DUSER"))?[[:space:]]*\$" \
		    "$st" || e2e_fail "$t ($pid) keeps groups:" \
		    "$(grep ^Groups: "$st")"
		root=$(readlink "/proc/$pid/root")
		[ "$root" = /var/empty ] ||
		    e2e_fail "$t ($pid) is chrooted to \"$root\", not /var/empty"
		grep -Eq '^Seccomp:[[:space:]]+2$' "$st" ||
		    e2e_fail "$t ($pid) has no seccomp filter:" \
		    "$(grep ^Seccomp: "$st")"
	done

	atf_check -s exit:0 -o save:pipes -e empty \
	    "$MARCONICTL" -s "$PWD/a.sock" show pipes
	n=$(awk 'NR > 1 && ($2 == "isp1" || $2 == "isp2")' pipes | wc -l)
	[ "$n" -eq 2 ] || e2e_fail "show pipes lists $n pipes, not 2: $(cat pipes)"
	grep -q '^site-b  *isp1 ' pipes || e2e_fail "no pipe site-b isp1"
	grep -q '^site-b  *isp2 ' pipes || e2e_fail "no pipe site-b isp2"

	atf_check -s exit:0 -o match:'^tap0 ' -e empty \
	    "$MARCONICTL" -s "$PWD/a.sock" show interfaces
	atf_check -s exit:0 -o match:'inet 198\.19\.0\.1/24 ' \
	    -o match:'inet6 2001:db8:19::1/64 ' -e ignore \
	    ip -n "${P}a" addr show tap0
}
titles_users_sandbox_cleanup() {
	e2e_cleanup
}

atf_test_case exact_titles cleanup
exact_titles_head() {
	atf_set descr "The command line of each process is its title and" \
	    "nothing more, so that pgrep -x finds it as the manual says"
	e2e_head
}
exact_titles_body() {
	e2e_init
	start_site_a
	ppid=$(parent_pid)

	for t in "marconid: parent" "marconid: engine" "marconid: pipe isp1" \
	    "marconid: pipe isp2"; do
		if [ "$t" = "marconid: parent" ]; then
			pid=$ppid
		else
			pid=$(kid_pid "$t")
		fi
		[ -n "$pid" ] || e2e_fail "no process titled \"$t\""
		cmd=$(tr '\0' '|' < "/proc/$pid/cmdline")
		[ "$cmd" = "$t|" ] ||
		    e2e_fail "/proc/$pid/cmdline is \"$cmd\", not \"$t|\""
		# only among ours: other daemons may run on this host
		if [ "$pid" = "$ppid" ]; then
			found=$(pgrep -xf "$t" | grep -Fx "$ppid")
		else
			found=$(pgrep -P "$ppid" -xf "$t")
		fi
		[ "$found" = "$pid" ] ||
		    e2e_fail "pgrep -xf \"$t\" finds \"$found\", not $pid"
	done
}
exact_titles_cleanup() {
	e2e_cleanup
}

atf_test_case version cleanup
version_head() {
	atf_set descr "marconid -V and marconictl show version give the" \
	    "release of both, as text and as JSON"
	e2e_head
}
version_body() {
	e2e_init
	v=$(sed -n 's/^#define MARCONID_VERSION[[:space:]]*"\(.*\)"$/\1/p' \
	    "$TOP/common/ctl.h")
	[ -n "$v" ] || atf_fail "no MARCONID_VERSION in common/ctl.h"
	atf_check -s exit:0 -o inline:"marconid $v\n" -e empty "$MARCONID" -V
	start_site_a
	atf_check -s exit:0 -o inline:"marconictl $v\nmarconid $v\n" \
	    -e empty "$MARCONICTL" -s "$PWD/a.sock" show version
	atf_check -s exit:0 -o inline:"marconictl $v\nmarconid $v\n" \
	    -e empty "$MARCONICTL" -s "$PWD/a.sock" s v
	atf_check -s exit:0 -o save:json -e empty \
	    "$MARCONICTL" -s "$PWD/a.sock" -j show version
	atf_check -s exit:0 -o inline:"$v $v\n" \
	    jq -r '.version | "\(.marconictl) \(.marconid)"' json
}
version_cleanup() {
	e2e_cleanup
}

atf_test_case pipe_restart cleanup
pipe_restart_head() {
	atf_set descr "A pipe process killed with SIGKILL is restarted by" \
	    "the parent; the engine and the other pipe go on untouched"
	e2e_head
}
pipe_restart_body() {
	e2e_init
	start_site_a
	engine=$(kid_pid "marconid: engine")
	isp1=$(kid_pid "marconid: pipe isp1")
	isp2=$(kid_pid "marconid: pipe isp2")

	kill -KILL "$isp1"
	topo_wait 10 replaced "marconid: pipe isp1" "$isp1" ||
	    e2e_fail "no new pipe isp1 process within 10 s"
	record_kids

	[ "$(kid_pid "marconid: engine")" = "$engine" ] ||
	    e2e_fail "the engine changed: $engine -> " \
	    "$(kid_pid "marconid: engine")"
	[ "$(kid_pid "marconid: pipe isp2")" = "$isp2" ] ||
	    e2e_fail "pipe isp2 changed: $isp2 -> " \
	    "$(kid_pid "marconid: pipe isp2")"
	topo_alive "$(parent_pid)" || e2e_fail "the parent died"

	atf_check -s exit:0 -o match:'^site-b  *isp1 ' \
	    -o match:'^site-b  *isp2 ' -e empty \
	    "$MARCONICTL" -s "$PWD/a.sock" show pipes
}
pipe_restart_cleanup() {
	e2e_cleanup
}

atf_test_case reload_bad_keeps_old cleanup
reload_bad_keeps_old_head() {
	atf_set descr "A reload of a configuration with errors fails with" \
	    "file:line and keeps the old one; a good one is taken, by" \
	    "marconictl reload and by SIGHUP"
	e2e_head
}
reload_bad_keeps_old_body() {
	e2e_init
	start_site_a 10 20
	ppid=$(parent_pid)
	before=$(kids "$ppid" | sort | tr '\n' ';')

	# a pipe over an uplink that does not exist
	write_a_conf a.conf.new 10 20
	sed 's/pipe isp2 remote/pipe isp9 remote/' a.conf.new > a.conf
	rm -f a.conf.new
	ctl reload > reload.out 2>&1
	rc=$?
	[ "$rc" -eq 1 ] || e2e_fail "reload of a bad file exited $rc:" \
	    "$(cat reload.out)"
	grep -Eq 'a\.conf:[0-9]+: ' reload.out ||
	    e2e_fail "reload did not say file:line: $(cat reload.out)"

	topo_alive "$ppid" || e2e_fail "the daemon died"
	after=$(kids "$ppid" | sort | tr '\n' ';')
	[ "$before" = "$after" ] ||
	    e2e_fail "the children changed: $before -> $after"
	if ! pref_is isp1 10 || ! pref_is isp2 20; then
		e2e_fail "the old pipes are gone: $(ctl show pipes 2>&1)"
	fi
	[ -z "$(pipe_col isp9 PREF)" ] || e2e_fail "pipe isp9 was taken"
	atf_check -s exit:0 -o match:'^site-b  *failover ' -e empty \
	    "$MARCONICTL" -s "$PWD/a.sock" show peers

	# a good change by marconictl reload
	write_a_conf a.conf 30 20
	atf_check -s exit:0 -o ignore -e empty \
	    "$MARCONICTL" -s "$PWD/a.sock" reload
	topo_wait 5 pref_is isp1 30 ||
	    e2e_fail "preference 30 not in effect: $(ctl show pipes 2>&1)"
	pref_is isp2 20 || e2e_fail "isp2 changed: $(ctl show pipes 2>&1)"
	record_kids

	# and by SIGHUP
	write_a_conf a.conf 30 40
	kill -HUP "$ppid"
	topo_wait 10 pref_is isp2 40 ||
	    e2e_fail "SIGHUP: preference 40 not in effect:" \
	    "$(ctl show pipes 2>&1)"
	topo_alive "$ppid" || e2e_fail "the daemon died after SIGHUP"
	record_kids
}
reload_bad_keeps_old_cleanup() {
	e2e_cleanup
}

atf_test_case stop_clean cleanup
stop_clean_head() {
	atf_set descr "SIGTERM to the parent ends every process, removes" \
	    "the control socket and the tap interface"
	e2e_head
}
stop_clean_body() {
	e2e_init
	start_site_a
	ppid=$(parent_pid)
	# shellcheck disable=SC2046 # a list of PIDs
	set -- "$ppid" $(cat children.pids)
	[ -S a.sock ] || e2e_fail "no control socket"

	kill -TERM "$ppid"
	topo_wait 10 none_alive "$@" ||
	    e2e_fail "still running 10 s after SIGTERM:" \
	    "$(for p in "$@"; do topo_alive "$p" && title_of "$p"; done)"
	wait "$ppid"
	rc=$?
	[ "$rc" -eq 0 ] || e2e_fail "the parent exited $rc after SIGTERM"
	[ ! -e a.sock ] || e2e_fail "the control socket is still there"
	if ip -n "${P}a" link show tap0 >/dev/null 2>&1; then
		e2e_fail "tap0 is still there"
	fi
}
stop_clean_cleanup() {
	e2e_cleanup
}

atf_test_case socket_in_use cleanup
socket_in_use_head() {
	atf_set descr "A second daemon on the same control socket refuses" \
	    "to start and the first one goes on"
	e2e_head
}
socket_in_use_body() {
	e2e_init
	start_site_a
	ppid=$(parent_pid)
	before=$(kids "$ppid" | sort | tr '\n' ';')

	# everything else differs, so that only the socket is in the way
	write_a_conf a2.conf 10 20 tap1 7456
	ip netns exec "${P}a" "$MARCONID" -d -f "$PWD/a2.conf" \
	    -s "$PWD/a.sock" > a2.log 2>&1 &
	second=$!
	echo "$second" > daemon2.pid
	topo_wait 10 none_alive "$second" ||
	    e2e_fail "a second daemon on the same socket kept running"
	wait "$second"
	rc=$?
	[ "$rc" -ne 0 ] || e2e_fail "the second daemon exited 0"
	grep -q 'a\.sock' a2.log ||
	    e2e_fail "the second daemon did not name the socket"

	topo_alive "$ppid" || e2e_fail "the first daemon died"
	after=$(kids "$ppid" | sort | tr '\n' ';')
	[ "$before" = "$after" ] ||
	    e2e_fail "the first daemon's children changed: $before -> $after"
	[ -S a.sock ] || e2e_fail "the control socket is gone"
	atf_check -s exit:0 -o match:'^site-b  *isp1 ' -e empty \
	    "$MARCONICTL" -s "$PWD/a.sock" show pipes
}
socket_in_use_cleanup() {
	e2e_cleanup
}

atf_test_case ctl_errors
ctl_errors_head() {
	atf_set descr "marconictl says when no daemon runs and lists the" \
	    "valid words after an unknown command"
	atf_set timeout 30
}
ctl_errors_body() {
	e2e_init
	[ -x "$MARCONICTL" ] || atf_fail "$MARCONICTL is not built"

	atf_check -s exit:1 -o empty -e match:'none\.sock' \
	    -e match:'running' \
	    "$MARCONICTL" -s "$PWD/none.sock" show pipes
	atf_check -s exit:1 -o empty -e match:'show' -e match:'reload' \
	    "$MARCONICTL" -s "$PWD/none.sock" frobnicate
	atf_check -s exit:1 -o empty -e match:'interfaces' -e match:'pipes' \
	    "$MARCONICTL" -s "$PWD/none.sock" show frobnicate
}

atf_init_test_cases() {
	atf_add_test_case titles_users_sandbox
	atf_add_test_case exact_titles
	atf_add_test_case version
	atf_add_test_case pipe_restart
	atf_add_test_case reload_bad_keeps_old
	atf_add_test_case stop_clean
	atf_add_test_case socket_in_use
	atf_add_test_case ctl_errors
}
