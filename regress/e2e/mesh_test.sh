#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # functions run by topo_wait
#
# End-to-end tests with three sites in a tap full mesh (mesh.sh): every
# site peers with the two others over isp1 and isp2.
#
# reload_reorder: site A's two peer blocks swap places in a reload, 20
# times, while A pings B 2,000 times a second.  Every process names a
# peer by the id the parent gave it, and a reload is a transaction, so
# no frame meant for B may reach C's tap, and the MAC table that knows
# B behind peer B must not be forgotten (which would flood B's frames
# to C).  C's tap counts what it gets to or from B's address; it must
# be nothing.  Afterwards every pair of sites still reaches the other,
# and no uplink process was restarted by the reloads.
#
# reload_keeps_macs: the same with the same file reloaded each time, so
# that only the MAC table is at stake: a reload used to forget it, and
# B's frames went to every peer until B spoke again.
#
# Every test case records the PIDs of what it starts in its work
# directory; its cleanup ends those processes, by PID only, and removes
# the namespaces, whatever the body did.  Every loop is bounded in
# count and in time.

ms_init() {
	SRCDIR=$(cd "$(atf_get_srcdir)" && pwd)
	TOP=$(cd "$SRCDIR/../.." && pwd)
	MARCONID=$TOP/marconid/marconid
	MARCONICTL=$TOP/marconictl/marconictl
	# shellcheck source=topology.sh
	. "$SRCDIR/topology.sh"
	# shellcheck source=mesh.sh
	. "$SRCDIR/mesh.sh"
	if [ -s prefix ]; then
		P=$(cat prefix)
	else
		P=mm$$
		echo "$P" > prefix
	fi
	SITES="a b c"
}

ms_head() {
	atf_set require.user root
	atf_set timeout "${1:-300}"
	atf_set require.progs "ip nft openssl ping ps jq awk"
}

ms_fail() {
	for s in $SITES; do
		if [ -S "$s.sock" ]; then
			echo "--- site $s: show pipes" >&2
			ctl "$s" show pipes >&2 2>&1
		fi
		if [ -s "$s.log" ]; then
			echo "--- site $s: the last lines of its log" >&2
			tail -n 30 "$s.log" >&2
		fi
	done
	atf_fail "$(echo "$*" | tr -s '\n\t' '  ' | cut -c 1-400)"
}

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

is_marconid() {
	topo_alive "$1" &&
	    tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q marconid
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

record_children() {
	ps -o pid= --ppid "$(cat "$1.pid")" >> children.pids 2>/dev/null
}

ms_cleanup() {
	ms_init
	if [ -f helpers.pids ]; then
		while read -r pid; do
			topo_alive "$pid" && kill -TERM "$pid" 2>/dev/null
		done < helpers.pids
	fi
	parents=""
	for s in $SITES; do
		[ -f "$s.pid" ] && parents="$parents $(cat "$s.pid")"
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
	mesh_destroy "$P"
}

# the pipes of SITE that are up, as a count
pipes_up_at() {
	ctl "$1" -j show pipes 2>/dev/null |
	    jq '[.pipes[] | select(.state == "up")] | length' 2>/dev/null
}

all_pipes_up() {
	for _s in $SITES; do
		[ "$(pipes_up_at "$_s")" = 4 ] || return 1
	done
	return 0
}

make_mesh() {
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	[ -x "$MARCONICTL" ] || atf_fail "$MARCONICTL is not built"
	id -u _marconid >/dev/null 2>&1 ||
	    atf_fail "user _marconid is missing (scripts/add-user)"
	mesh_create "$P" "$SITES" || atf_fail "cannot build the mesh"
	for s in $SITES; do
		site_identity "$PWD" "site-$s" ||
		    atf_fail "cannot make the identity of site $s"
	done
}

start_site() {
	"$MARCONID" -n -f "$PWD/$1.conf" > "$1.check" 2>&1 ||
	    ms_fail "marconid -n refuses $1.conf: $(cat "$1.check")"
	ip netns exec "$P$1" "$MARCONID" -dv -f "$PWD/$1.conf" \
	    -s "$PWD/$1.sock" > "$1.log" 2>&1 &
	echo $! > "$1.pid"
	topo_wait 15 ctl_answers_or_dead "$1" || true
	topo_alive "$(cat "$1.pid")" ||
	    ms_fail "marconid of site $1 exited at startup"
	ctl_answers "$1" ||
	    ms_fail "no answer on site $1's control socket in 15 s"
	record_children "$1"
}

# all_pairs: every site reaches every other across the segment
all_pairs() {
	for s in $SITES; do
		for o in $SITES; do
			[ "$s" = "$o" ] && continue
			topo_ping "$P$s" "198.19.0.$(_mesh_idx "$o")" 10 ||
			    ms_fail "site $s does not reach site $o" \
			    "($1)"
		done
	done
}

# C's tap counts, as the engine writes them, the frames to or from B
tap_count_start() {
	ip netns exec "${P}c" nft -f - <<EOF || ms_fail "no counter on C's tap"
table netdev mesh_count {
	chain in {
		type filter hook ingress device "tap0" priority 0;
		ip daddr 198.19.0.2 counter
		ip saddr 198.19.0.2 counter
	}
}
EOF
}

tap_count() {
	ip netns exec "${P}c" nft list table netdev mesh_count 2>/dev/null |
	    awk '/counter packets/ {
		for (i = 1; i < NF; i++)
			if ($i == "packets")
				n += $(i + 1)
	    } END { print n + 0 }'
}

# ---------------------------------------------------------------------

# reload_under_pings SWAP: site A reloaded 20 times while it pings B
# 2,000 times a second, its peer blocks swapped each time when SWAP is
# 1, the same file each time otherwise; C's tap must see none of it
reload_under_pings() {
	make_mesh
	mesh_conf a a-bc.conf "$PWD" b c || atf_fail "cannot write a.conf"
	mesh_conf a a-cb.conf "$PWD" c b || atf_fail "cannot write a.conf"
	cp a-bc.conf a.conf && chmod 0600 a.conf
	mesh_conf b b.conf "$PWD" a c || atf_fail "cannot write b.conf"
	mesh_conf c c.conf "$PWD" a b || atf_fail "cannot write c.conf"
	for s in $SITES; do
		start_site "$s"
	done
	topo_wait 30 all_pipes_up ||
	    ms_fail "not every pipe is up within 30 s"
	all_pairs "before the reloads"

	# A has learned B's address behind peer B: from now on nothing of
	# A's pings to B, nor of B's answers, has any business at C
	tap_count_start
	[ "$(tap_count)" = 0 ] || ms_fail "the counter does not start at 0"

	ip netns exec "${P}a" ping -n -q -i 0.0005 -w 25 -c 40000 \
	    198.19.0.2 > ping.out 2>&1 &
	echo $! > ping.pid
	echo $! >> helpers.pids
	sleep 1
	i=0
	while [ "$i" -lt 20 ]; do
		if [ "$1" = 1 ] && [ $((i % 2)) = 0 ]; then
			cp a-cb.conf a.conf
		else
			cp a-bc.conf a.conf
		fi
		chmod 0600 a.conf
		ctl a reload > reload.out 2>&1 ||
		    ms_fail "reload $i at site A: $(cat reload.out)"
		sleep 0.3
		i=$((i + 1))
	done
	topo_wait 30 sh -c "! kill -0 $(cat ping.pid) 2>/dev/null" ||
	    ms_fail "ping did not end"
	wrong=$(tap_count)
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' ping.out)
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' ping.out)
	echo "A sent $sent pings to B and got $got answers across 20" \
	    "reloads; C's tap saw $wrong frames to or from B"
	[ -n "$sent" ] && [ "$sent" -gt 1000 ] ||
	    ms_fail "ping did not run: $(cat ping.out)"
	[ "$wrong" = 0 ] ||
	    ms_fail "$wrong frames to or from site B reached site C's tap"
	# the loss itself is not the point, but most must have crossed
	[ "$got" -gt $((sent / 2)) ] ||
	    ms_fail "only $got of $sent pings answered"

	all_pairs "after the reloads"
	if grep -E "unexpected or bad|malformed message|terminated by" \
	    a.log > bad.txt; then
		ms_fail "site A restarted a process: $(head -n 3 bad.txt)"
	fi
	n=$(grep -c "configuration reloaded" a.log)
	[ "$n" -ge 20 ] || ms_fail "site A logged $n reloads, not 20"
}

atf_test_case reload_reorder cleanup
reload_reorder_head() {
	atf_set descr "Peers reordered by reloads under traffic: no frame" \
	    "reaches the wrong site, every pair still reaches the other"
	ms_head 300
}
reload_reorder_body() {
	ms_init
	reload_under_pings 1
}
reload_reorder_cleanup() {
	ms_cleanup
}

atf_test_case reload_keeps_macs cleanup
reload_keeps_macs_head() {
	atf_set descr "A reload keeps the Ethernet addresses learned behind" \
	    "peers that stay: unicast to B is not flooded to C after it"
	ms_head 300
}
reload_keeps_macs_body() {
	ms_init
	reload_under_pings 0
}
reload_keeps_macs_cleanup() {
	ms_cleanup
}

atf_init_test_cases() {
	atf_add_test_case reload_reorder
	atf_add_test_case reload_keeps_macs
}
