#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # functions run by topo_wait
#
# End-to-end tests of remotes given as host names, over ISP 1 only
# (site_conf1 of topology.sh).  Site A's pipe names site B as
# "site-b.test", which only site A's own hosts file knows: `ip netns
# exec` puts /etc/netns/NAME/hosts over /etc/hosts, and the parent of
# site A runs in A's namespace.  Site B's pipe is passive, and its
# uplink takes any address of its link to ISP 1:
#
#	remote_moves		the name points to B's first address; B
#				gets a second one, the first is cut off and
#				the hosts file changed under the running
#				daemon: A's pipe comes back up on the new
#				address within 30 s, with the same parent
#				and uplink processes; learned follows
#	interval_moves		the name moves while both addresses work: the
#				resolve interval's lookup moves the pipe, a
#				reload keeps the new address
#	noaction_names		marconid -n accepts a name that does not
#				resolve, with a warning, and one that does
#				without
#
# Every test case records the PIDs of what it starts; its cleanup ends
# those processes, by PID only, removes the namespaces and the
# namespace's files under /etc/netns, whatever the body did.  Every
# loop is bounded in count and in time.

nm_init() {
	SRCDIR=$(cd "$(atf_get_srcdir)" && pwd)
	TOP=$(cd "$SRCDIR/../.." && pwd)
	MARCONID=$TOP/marconid/marconid
	MARCONICTL=$TOP/marconictl/marconictl
	# shellcheck source=topology.sh
	. "$SRCDIR/topology.sh"
	# shellcheck source=common.sh
	. "$SRCDIR/common.sh"
	if [ -s prefix ]; then
		P=$(cat prefix)
	else
		P=mn$$
		echo "$P" > prefix
	fi
	ETC_A=/etc/netns/${P}a
	B_OLD=198.18.11.2
	B_NEW=198.18.11.3
}

nm_head() {
	atf_set require.user root
	atf_set timeout "${1:-120}"
	atf_set require.progs "ip nft openssl jq awk"
}

nm_fail() {
	for s in a b; do
		if [ -S "$s.sock" ]; then
			echo "--- site $s: show pipes" >&2
			ctl "$s" show pipes >&2 2>&1
		fi
		if [ -s "$s.log" ]; then
			echo "--- site $s: the last lines of its log" >&2
			tail -n 40 "$s.log" >&2
		fi
	done
	atf_fail "$(echo "$*" | tr -s '\n\t' '  ' | cut -c 1-400)"
}

is_up() {
	[ "$(jpipe "$1" isp1 .state)" = up ]
}

both_up() {
	is_up a && is_up b
}

# A's pipe up again, to the new address
moved_up() {
	is_up a && [ "$(jpipe a isp1 .remote)" = "$B_NEW:7455" ]
}

children_of() {
	ps -o pid= --ppid "$(cat "$1.pid")" 2>/dev/null | tr -d ' ' | sort -n
}

nm_cleanup() {
	nm_init
	parents=""
	for f in a.pid b.pid; do
		[ -f "$f" ] && parents="$parents $(cat "$f")"
	done
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
	# only what this test made: its own prefixed directory
	if [ -d "$ETC_A" ]; then
		rm -f "$ETC_A/hosts" "$ETC_A/resolv.conf"
		rmdir "$ETC_A"
	fi
}

# A's hosts file, written in place: the bind mount of a running
# namespace follows the file, not the name
hosts_a() {
	echo "$1 site-b.test" > "$ETC_A/hosts"
}

make_sites() {
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	id -u _marconid >/dev/null 2>&1 ||
	    atf_fail "user _marconid is missing (scripts/add-user)"
	[ ! -e "$ETC_A" ] || atf_fail "$ETC_A exists already"
	topo_create "$P" || atf_fail "cannot build the topology"
	mkdir -p "$ETC_A" || atf_fail "cannot make $ETC_A"
	# no name server: nothing but the hosts file answers, at once
	echo "nameserver 127.0.0.1" > "$ETC_A/resolv.conf"
	hosts_a "$B_OLD"
	for n in site-a site-b; do
		site_identity "$PWD" "$n" ||
		    atf_fail "cannot make the identity of $n"
	done
	FPR_A=$(site_fingerprint site-a.crt) || atf_fail "no fingerprint"
	FPR_B=$(site_fingerprint site-b.crt) || atf_fail "no fingerprint"
	site_conf1 a "$PWD/a.conf" "$PWD/site-a.crt" "$PWD/site-a.key" \
	    "$FPR_B" site-b.test || atf_fail "cannot write a.conf"
	# 60m: so long that only the pipe's own call can be what moves it
	site_conf_global a.conf "resolve interval ${RESOLVE_INTERVAL:-60m}" ||
	    atf_fail "cannot edit a.conf"
	site_conf1 b "$PWD/b.conf" "$PWD/site-b.crt" "$PWD/site-b.key" \
	    "$FPR_A" - || atf_fail "cannot write b.conf"
	# B takes any address of its link to ISP 1
	# shellcheck disable=SC2016 # an awk program
	_site_conf_edit b.conf '
	    $1 == "uplink" { print "uplink isp1 { interface isp1 }"; next }
	    { print }' || atf_fail "cannot edit b.conf"
	ip -n "${P}b" addr add "$B_NEW/24" dev isp1 ||
	    atf_fail "cannot add $B_NEW to site B"
}

start_site() {
	ip netns exec "$P$1" "$MARCONID" -dv -f "$PWD/$1.conf" \
	    -s "$PWD/$1.sock" > "$1.log" 2>&1 &
	echo $! > "$1.pid"
	topo_wait 15 ctl_answers_or_dead "$1" || true
	topo_alive "$(cat "$1.pid")" ||
	    nm_fail "marconid of site $1 exited at startup"
	ctl_answers "$1" ||
	    nm_fail "no answer on site $1's control socket in 15 s"
	children_of "$1" >> children.pids
}

# ---------------------------------------------------------------------

atf_test_case remote_moves cleanup
remote_moves_head() {
	atf_set descr "a remote's name moves under a running daemon: the" \
	    "pipe follows it without a restart"
	nm_head 120
}
remote_moves_body() {
	nm_init
	make_sites
	ip netns exec "${P}a" "$MARCONID" -n -f "$PWD/a.conf" > a.check 2>&1 ||
	    nm_fail "marconid -n refuses a.conf: $(cat a.check)"
	start_site a
	start_site b
	topo_wait 20 both_up || nm_fail "the pipes are not up within 20 s"

	[ "$(jpipe a isp1 .remote_name)" = site-b.test ] ||
	    nm_fail "show pipes does not name the remote"
	[ "$(jpipe a isp1 .remote)" = "$B_OLD:7455" ] ||
	    nm_fail "remote in use is $(jpipe a isp1 .remote), not $B_OLD:7455"
	ctl a show pipes detail | grep -qF "site-b.test ($B_OLD:7455)" ||
	    nm_fail "show pipes in text does not give the name and address"
	# a pipe with a remote learns where the datagrams come from too
	[ "$(jpipe a isp1 .learned)" = "$B_OLD:7455" ] ||
	    nm_fail "learned is '$(jpipe a isp1 .learned)', not $B_OLD:7455"
	topo_ping "${P}a" 198.19.0.2 || nm_fail "no ping over the pipe"
	parent=$(cat a.pid)
	child=$(jpipe a isp1 .pid)

	# B moves: its answers leave from the new address, the old one is
	# cut off at ISP 1, and A's hosts file says so
	ip -n "${P}b" route replace 198.18.1.0/24 via 198.18.11.1 dev isp1 \
	    src "$B_NEW" || atf_fail "cannot change B's route"
	ip netns exec "${P}isp1" nft -f - <<NFT || atf_fail "nft failed"
table inet names_test {
	chain forward {
		type filter hook forward priority filter; policy accept;
		ip daddr $B_OLD drop
		ip saddr $B_OLD drop
	}
}
NFT
	hosts_a "$B_NEW"
	start=$(date +%s)
	# by the clock: a busy machine makes each look slow
	n=0
	until moved_up; do
		n=$((n + 1))
		if [ "$n" -ge 300 ] || [ $(($(date +%s) - start)) -ge 30 ]; then
			nm_fail "A's pipe is not up on $B_NEW within 30 s"
		fi
		sleep 0.2
	done
	echo "back up on the new address after $(($(date +%s) - start)) s"
	topo_ping "${P}a" 198.19.0.2 || nm_fail "no ping after the move"

	if [ "$(cat a.pid)" != "$parent" ] || ! topo_alive "$parent"; then
		nm_fail "site A's parent is not the one that started"
	fi
	[ "$(jpipe a isp1 .pid)" = "$child" ] ||
	    nm_fail "A's uplink process is $(jpipe a isp1 .pid), was $child"
	[ "$(jpipe a isp1 .restarts)" = 0 ] || nm_fail "A's uplink restarted"
	grep -q "remote site-b.test is now $B_NEW" a.log ||
	    nm_fail "A's log does not say where the name moved"
	[ "$(jpipe a isp1 .learned)" = "$B_NEW:7455" ] ||
	    nm_fail "learned is '$(jpipe a isp1 .learned)', not $B_NEW:7455"
}
remote_moves_cleanup() {
	nm_cleanup
}

atf_test_case interval_moves cleanup
interval_moves_head() {
	atf_set descr "a remote's name moves while the old address still" \
	    "works: the next lookup of the resolve interval moves the" \
	    "pipe, and a reload keeps the new address"
	nm_head 120
}
interval_moves_body() {
	nm_init
	RESOLVE_INTERVAL=3s
	make_sites
	start_site a
	start_site b
	topo_wait 20 both_up || nm_fail "the pipes are not up within 20 s"
	[ "$(jpipe a isp1 .remote)" = "$B_OLD:7455" ] ||
	    nm_fail "remote in use is $(jpipe a isp1 .remote), not $B_OLD:7455"
	child=$(jpipe a isp1 .pid)

	# both addresses of B answer: only the lookups can move the pipe
	hosts_a "$B_NEW"
	start=$(date +%s)
	n=0
	until moved_up; do
		n=$((n + 1))
		if [ "$n" -ge 300 ] || [ $(($(date +%s) - start)) -ge 20 ]; then
			nm_fail "A's pipe is not up on $B_NEW within 20 s"
		fi
		sleep 0.2
	done
	echo "up on the new address after $(($(date +%s) - start)) s"
	grep -q "session to $B_OLD closed: remote moved" a.log ||
	    nm_fail "A did not close its session to the old address"

	# a reload keeps the address the name has now, and the session
	moves=$(grep -c "remote site-b.test moves to" a.log)
	"$MARCONICTL" -s "$PWD/a.sock" reload > reload.out 2>&1 ||
	    nm_fail "reload failed: $(cat reload.out)"
	sleep 2
	moved_up || nm_fail "after the reload A's pipe is" \
	    "$(jpipe a isp1 .state) to $(jpipe a isp1 .remote)"
	[ "$(grep -c "remote site-b.test moves to" a.log)" = "$moves" ] ||
	    nm_fail "the reload moved the pipe again"
	[ "$(jpipe a isp1 .pid)" = "$child" ] ||
	    nm_fail "A's uplink process is $(jpipe a isp1 .pid), was $child"
}
interval_moves_cleanup() {
	nm_cleanup
}

atf_test_case noaction_names cleanup
noaction_names_head() {
	atf_set descr "marconid -n warns of a name that does not resolve," \
	    "and accepts it"
	nm_head 60
}
noaction_names_body() {
	nm_init
	make_sites
	atf_check -s exit:0 -o empty -e inline:"configuration OK\n" \
	    ip netns exec "${P}a" "$MARCONID" -n -f "$PWD/a.conf"
	sed 's/site-b\.test/nowhere.test/' a.conf > c.conf ||
	    atf_fail "cannot write c.conf"
	chmod 0600 c.conf || atf_fail "cannot chmod c.conf"
	atf_check -s exit:0 -o empty \
	    -e match:"^warning: peer site-b pipe isp1: remote nowhere.test does not resolve now" \
	    -e match:"^configuration OK$" \
	    ip netns exec "${P}a" "$MARCONID" -n -f "$PWD/c.conf"
}
noaction_names_cleanup() {
	nm_cleanup
}

atf_init_test_cases() {
	atf_add_test_case remote_moves
	atf_add_test_case interval_moves
	atf_add_test_case noaction_names
}
