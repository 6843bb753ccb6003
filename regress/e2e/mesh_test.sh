#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # functions run by topo_wait
#
# End-to-end tests with three and four sites (mesh.sh), each with isp1
# and isp2, over tap: full meshes and hubs.
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
# full_mesh, hub_spoke: the three-site full mesh and the hub with three
# spokes of marconid.conf(5), extracted from the page source by
# scripts/man-example and run as they are (certificates and
# fingerprints by -D): every pair pings, broadcasts are counted at
# every tap (each other site's tap sees each one once, the sender's
# none, and nothing more comes in the 2 s after), a cut of one ISP is
# felt only by the pipes that use it, and at the hub a byte-checked TCP
# stream between two spokes stays on one connection across a cut of
# the hub's ISP 1.  mesh4: four sites.  mac_move: a host moves from B
# to C and is followed within a second; with mac timeout 3s its
# address is forgotten after 3 s without a frame.  two_hubs: what two
# hubs that peer with each other do (a frame is relayed once).
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
	# shellcheck source=common.sh
	. "$SRCDIR/common.sh"
	if [ -s prefix ]; then
		P=$(cat prefix)
	else
		P=mm$$
		echo "$P" > prefix
	fi
	# a test case with four sites says so in the file sites
	SITES=$(cat sites 2>/dev/null || echo "a b c")
	MANEX="sh $TOP/scripts/man-example $TOP/marconid.conf.5"
	XFER=$SRCDIR/xfer
}

ms_head() {
	atf_set require.user root
	atf_set timeout "${1:-300}"
	atf_set require.progs "ip nft openssl ping ps jq awk sha256sum"
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

# every pipe of every site is up, however many each has
every_pipe_up() {
	for _s in $SITES; do
		ctl "$_s" -j show pipes 2>/dev/null | jq -e '(.pipes | length)
		    > 0 and ([.pipes[] | select(.state != "up")] | length)
		    == 0' >/dev/null 2>&1 || return 1
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

# start_site SITE [-D name=value ...]
start_site() {
	_ss=$1
	shift
	"$MARCONID" -n "$@" -f "$PWD/$_ss.conf" > "$_ss.check" 2>&1 ||
	    ms_fail "marconid -n refuses $_ss.conf: $(cat "$_ss.check")"
	ip netns exec "$P$_ss" "$MARCONID" -dv "$@" -f "$PWD/$_ss.conf" \
	    -s "$PWD/$_ss.sock" > "$_ss.log" 2>&1 &
	echo $! > "$_ss.pid"
	topo_wait 15 ctl_answers_or_dead "$_ss" || true
	topo_alive "$(cat "$_ss.pid")" ||
	    ms_fail "marconid of site $_ss exited at startup"
	ctl_answers "$_ss" ||
	    ms_fail "no answer on site $_ss's control socket in 15 s"
	record_children "$_ss"
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

# ---------------------------------------------------------------------
# Sites from the examples of marconid.conf(5), broadcasts counted at
# every tap, hosts that move, hubs.

# the -D arguments of SITE: its identity, and the fingerprint of every
# site made so far, as the macros of the manual's examples name them
ident_args() {
	echo "-D site_crt=$PWD/site-$1.crt -D site_key=$PWD/site-$1.key"
	for _o in $MESH_SITES_ALL; do
		[ "$_o" = "$1" ] && continue
		[ -f "site-$_o.crt" ] || continue
		echo "-D fpr_$_o=$(site_fingerprint "$PWD/site-$_o.crt")"
	done
}

# man_conf NAME FILE: the example NAME of marconid.conf(5), as it is
man_conf() {
	$MANEX "$1" > "$2" || atf_fail "no example $1 in marconid.conf.5"
	chmod 0600 "$2"
}

# jpipe_peer SITE PEER UPLINK FIELD: a field of a pipe in show pipes
jpipe_peer() {
	ctl "$1" -j show pipes 2>/dev/null | jq -r --arg p "$2" --arg u "$3" \
	    ".pipes[] | select(.peer == \$p and .uplink == \$u) | .$4" \
	    2>/dev/null
}

# probe_roles SITE ROLE: every pipe of SITE has that probe role
probe_roles() {
	_roles=$(ctl "$1" -j show pipes 2>/dev/null |
	    jq -r '[.pipes[].probe_role] | unique | join(" ")' 2>/dev/null)
	[ "$_roles" = "$2" ] ||
	    ms_fail "the pipes of site $1 have probe roles \"$_roles\"," \
	    "not \"$2\""
}

# hub_wakes SITE: the wake-ups of SITE's isp1 process in 4 s at rest
hub_wakes() {
	_pid=
	for _p in $(ip netns pids "$P$1"); do
		if tr '\0' ' ' < "/proc/$_p/cmdline" 2>/dev/null |
		    grep -q 'pipe isp1'; then
			_pid=$_p
		fi
	done
	[ -n "$_pid" ] || ms_fail "no process of uplink isp1 at site $1"
	_w0=$(awk '/ctxt_switches/ { n += $2 } END { print n }' \
	    "/proc/$_pid/status")
	sleep 4
	_w1=$(awk '/ctxt_switches/ { n += $2 } END { print n }' \
	    "/proc/$_pid/status")
	echo "site $1, isp1: $((_w1 - _w0)) wake-ups in 4 s at rest"
}

# jmac SITE MAC: the peer SITE has learned MAC behind, "" if none
jmac() {
	ctl "$1" -j show macs 2>/dev/null | jq -r --arg m "$2" \
	    '.macs[] | select(.address == $m) | .peer' 2>/dev/null
}

# At SITE's tap, a counter per site of the broadcast echo requests from
# that site's address that marconid writes to the tap; made again from
# 0 each time.
bcast_count_start() {
	{
		echo "table netdev mesh_bcast"
		echo "delete table netdev mesh_bcast"
		echo "table netdev mesh_bcast {"
		for _o in $SITES; do
			echo "	counter from_$_o { }"
		done
		echo "	chain in {"
		echo "		type filter hook ingress device \"tap0\"" \
		    "priority 0;"
		for _o in $SITES; do
			echo "		ether daddr ff:ff:ff:ff:ff:ff" \
			    "ip saddr 198.19.0.$(_mesh_idx "$_o")" \
			    "icmp type echo-request counter name from_$_o"
		done
		echo "	}"
		echo "}"
	} | ip netns exec "$P$1" nft -f - ||
	    ms_fail "no broadcast counter on site $1's tap"
}

# bcast_count SITE FROM
bcast_count() {
	ip netns exec "$P$1" nft list counter netdev mesh_bcast "from_$2" \
	    2>/dev/null | awk '/packets/ {
		for (i = 1; i < NF; i++)
			if ($i == "packets")
				print $(i + 1)
	    }'
}

# bcast_check FROM N: FROM pings the segment's broadcast address N
# times; every other site's tap gets each request exactly once, FROM's
# none (nothing comes back), and 2 s later still no more (nothing goes
# round)
bcast_check() {
	for _s in $SITES; do
		bcast_count_start "$_s"
	done
	ip netns exec "$P$1" ping -b -n -q -c "$2" -i 0.2 -W 1 \
	    198.19.0.255 > "bcast-$1.out" 2>&1
	sleep 2
	_seen=""
	for _s in $SITES; do
		_n=$(bcast_count "$_s" "$1")
		_seen="$_seen $_s:$_n"
		_want=$2
		[ "$_s" = "$1" ] && _want=0
		[ "$_n" = "$_want" ] || ms_fail "$2 broadcasts from site $1:" \
		    "site $_s's tap got $_n, not $_want (taps:$_seen)"
	done
	echo "$2 broadcasts from site $1, seen at the taps:$_seen"
}

# ping_result FILE: "sent received" of a ping that ended
ping_result() {
	_tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$1")
	_rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$1")
	echo "${_tx:-0} ${_rx:-0}"
}

ping_ended() {
	! topo_alive "$1"
}

# the packets of the one counter of nft table netdev NAME at SITE
nft_packets() {
	ip netns exec "$P$1" nft list table netdev "$2" 2>/dev/null |
	    awk '/packets/ {
		for (i = 1; i < NF; i++)
			if ($i == "packets")
				print $(i + 1)
	    }'
}

# ---------------------------------------------------------------------

atf_test_case full_mesh cleanup
full_mesh_head() {
	atf_set descr "The three-site full mesh of marconid.conf(5): every" \
	    "pair reaches the other, a broadcast reaches every site once" \
	    "and goes no further, a cut ISP at B is seen by B's peers only"
	ms_head 180
}
full_mesh_body() {
	ms_init
	make_mesh
	for s in $SITES; do
		man_conf "mesh-$s" "$s.conf"
	done
	for s in $SITES; do
		# shellcheck disable=SC2046 # words of -D arguments
		start_site "$s" $(ident_args "$s")
	done
	topo_wait 30 every_pipe_up || ms_fail "not every pipe is up in 30 s"
	all_pairs "full mesh"
	# two pipes on each uplink of each site: equals
	for s in a b c; do
		probe_roles "$s" equal
	done
	for s in $SITES; do
		bcast_check "$s" 5
	done

	# ISP 1 of site B fails: A and B, C and B fail over, A and C do not
	# notice.  600 pings from A to C and to B, 100 a second.
	ip netns exec "${P}a" ping -n -q -i 0.01 -c 600 -W 2 198.19.0.3 \
	    > ac.out 2>&1 &
	echo $! > ac.pid
	echo $! >> helpers.pids
	ip netns exec "${P}a" ping -n -q -i 0.01 -c 600 -W 2 198.19.0.2 \
	    > ab.out 2>&1 &
	echo $! > ab.pid
	echo $! >> helpers.pids
	sleep 1
	mesh_cut "$P" b 1 || ms_fail "cannot cut site B's ISP 1"
	topo_wait 30 ping_ended "$(cat ac.pid)" || ms_fail "ping A-C hangs"
	topo_wait 10 ping_ended "$(cat ab.pid)" || ms_fail "ping A-B hangs"
	# shellcheck disable=SC2046 # four numbers
	set -- $(ping_result ac.out) $(ping_result ab.out)
	echo "during the cut: A-C $2 of $1 answered, A-B $4 of $3"
	[ "$1" = 600 ] && [ "$2" = 600 ] ||
	    ms_fail "A-C lost pings to a cut at B: $2 of $1 answered"
	[ "$4" -gt 300 ] || ms_fail "A-B did not fail over: $4 of $3"
	# B's peers saw it, over isp1 only; the pipes between A and C
	# stayed up the whole time
	for s in a c; do
		[ "$(jpipe_peer "$s" site-b isp1 state)" != up ] ||
		    ms_fail "site $s still has its isp1 pipe to B up"
		[ "$(jpipe_peer "$s" site-b isp2 active)" = true ] ||
		    ms_fail "site $s does not send to B over isp2"
	done
	for s in a c; do
		o=site-a
		[ "$s" = a ] && o=site-c
		for u in isp1 isp2; do
			up=$(jpipe_peer "$s" "$o" "$u" up_for_sec)
			[ "${up:-0}" -ge 6 ] || ms_fail "site $s: pipe to $o" \
			    "over $u up for ${up:-0} s only: the cut at B" \
			    "touched it"
		done
	done
	mesh_restore "$P" b 1
	all_pairs "after the cut"
}
full_mesh_cleanup() {
	ms_cleanup
}

atf_test_case mesh4 cleanup
mesh4_head() {
	atf_set descr "Four sites in a full mesh: every pair reaches the" \
	    "other, a broadcast from each reaches every other once"
	ms_head 180
}
mesh4_body() {
	echo "a b c d" > sites
	ms_init
	make_mesh
	for s in $SITES; do
		# shellcheck disable=SC2046 # the other sites, as words
		mesh_conf "$s" "$s.conf" "$PWD" $(echo "$SITES" |
		    tr ' ' '\n' | grep -vx "$s") ||
		    atf_fail "cannot write $s.conf"
	done
	for s in $SITES; do
		start_site "$s"
	done
	topo_wait 40 every_pipe_up || ms_fail "not every pipe is up in 40 s"
	all_pairs "full mesh of four"
	for s in $SITES; do
		bcast_check "$s" 3
	done
}
mesh4_cleanup() {
	ms_cleanup
}

atf_test_case mac_move cleanup
mac_move_head() {
	atf_set descr "A host that moves from site B to site C is followed" \
	    "within a second (traffic and show macs); an address ages out" \
	    "after mac timeout"
	ms_head 180
}
mac_move_body() {
	ms_init
	make_mesh
	mesh_conf a a.conf "$PWD" b c || atf_fail "cannot write a.conf"
	echo "mac timeout 3s" >> a.conf
	mesh_conf b b.conf "$PWD" a c || atf_fail "cannot write b.conf"
	mesh_conf c c.conf "$PWD" a b || atf_fail "cannot write c.conf"
	for s in $SITES; do
		start_site "$s"
	done
	topo_wait 30 every_pipe_up || ms_fail "not every pipe is up in 30 s"

	# host h1 at site B; A pings it 20 times a second from now on
	mac=02:00:5e:00:0a:01
	mesh_host "$P" h1 b "$mac" 198.19.0.100 ||
	    ms_fail "cannot put host h1 at site B"
	topo_ping "${P}h1" 198.19.0.1 10 || ms_fail "h1 does not reach A"
	[ "$(jmac a "$mac")" = site-b ] ||
	    ms_fail "A has not learned h1 behind B: $(ctl a show macs)"
	ip netns exec "${P}b" nft -f - <<ZZNFT || ms_fail "no counter at B"
table netdev mesh_h1 {
	chain in {
		type filter hook ingress device "tap0" priority 0;
		ether daddr $mac counter
	}
}
ZZNFT
	ip netns exec "${P}a" ping -D -n -i 0.05 -c 400 -W 1 198.19.0.100 \
	    > a-h1.out 2>&1 &
	echo $! > a-h1.pid
	echo $! >> helpers.pids
	sleep 2
	b0=$(nft_packets b mesh_h1)
	[ "${b0:-0}" -gt 10 ] || ms_fail "A's pings do not reach h1 at B"

	# h1 moves to C and speaks once, as a migrated machine announces
	# itself; from then on A's pings must reach it there, and no more
	# reach B
	mesh_host "$P" h1 c "$mac" 198.19.0.100 ||
	    ms_fail "cannot move host h1 to site C"
	t_move=$(date +%s.%N)
	ip netns exec "${P}h1" ping -n -q -c 1 -W 2 198.19.0.1 >/dev/null 2>&1
	sleep 1
	peer=$(jmac a "$mac")
	[ "$peer" = site-c ] || ms_fail "1 s after the move, A has h1" \
	    "behind \"$peer\": $(ctl a show macs)"
	b1=$(nft_packets b mesh_h1)
	sleep 2
	b2=$(nft_packets b mesh_h1)
	[ "${b1:-x}" = "${b2:-y}" ] ||
	    ms_fail "frames for h1 still reach B after it moved: $b1, $b2"
	# the first answer from C within a second of the announcement
	first=$(awk -v t="$t_move" '/bytes from/ {
		ts = substr($1, 2, length($1) - 2)
		if (ts + 0 > t + 0) { print ts - t; exit }
	    }' a-h1.out)
	echo "h1 moved: A's first answer from C after ${first:-none} s;" \
	    "frames for h1 at B's tap: $b0 before, $b1 and $b2 after"
	[ -n "$first" ] && awk -v f="$first" 'BEGIN { exit !(f < 1.0) }' ||
	    ms_fail "A's pings reach h1 at C ${first:-never} s after it" \
	    "moved"
	kill -INT "$(cat a-h1.pid)" 2>/dev/null
	topo_wait 5 ping_ended "$(cat a-h1.pid)" || true

	# h1 leaves: nothing comes from it any more; A forgets it after
	# its 3 s, not before
	mesh_host_detach "$P" h1 || ms_fail "cannot take h1 off"
	sleep 1
	[ "$(jmac a "$mac")" = site-c ] ||
	    ms_fail "A forgot h1 after 1 s already: $(ctl a show macs)"
	ctl a show macs
	_gone() {
		[ -z "$(jmac a "$mac")" ]
	}
	topo_wait 5 _gone || ms_fail "A still has h1 5 s after its last" \
	    "frame, with mac timeout 3s: $(ctl a show macs)"
	all_pairs "after the move"
	ctl a -j show macs | jq -e '.macs | length > 0' >/dev/null ||
	    ms_fail "A has not learned the sites' own addresses again"
}
mac_move_cleanup() {
	ms_cleanup
}

atf_test_case hub_spoke cleanup
hub_spoke_head() {
	atf_set descr "The hub and spokes of marconid.conf(5): spokes reach" \
	    "each other through the hub, a broadcast reaches every site" \
	    "once, a TCP stream between spokes survives a cut of the" \
	    "hub's ISP 1"
	ms_head 180
}
hub_spoke_body() {
	echo "a b c d" > sites
	ms_init
	[ -x "$XFER" ] || atf_fail "$XFER is not built"
	make_mesh
	man_conf hub-a a.conf
	for s in b c d; do
		man_conf spoke "$s.conf"
	done
	# shellcheck disable=SC2046 # words of -D arguments
	start_site a $(ident_args a)
	# shellcheck disable=SC2046
	start_site b $(ident_args b)
	for s in c d; do
		i=$(_mesh_idx "$s")
		# shellcheck disable=SC2046
		start_site "$s" $(ident_args "$s") \
		    -D "ext1=198.18.$(_mesh_net "$s" 1).2" \
		    -D "ext2=198.18.$(_mesh_net "$s" 2).2" \
		    -D "segment=198.19.0.$i/24"
	done
	topo_wait 30 every_pipe_up || ms_fail "not every pipe is up in 30 s"
	[ "$(pipes_up_at a)" = 6 ] || ms_fail "the hub has not 6 pipes up"
	all_pairs "hub and spokes"
	# the hub, 3 pipes on each uplink, times the probes of the spokes
	# (1 each): one wake-up of its uplink serves its 3 pipes
	probe_roles a leads
	for s in b c d; do
		probe_roles "$s" follows
	done
	hub_wakes a
	for s in b a; do
		bcast_check "$s" 5
	done
	# the hub knows the spokes' addresses, each behind its own peer
	for s in b c d; do
		m=$(ip -n "$P$s" -j link show tap0 | jq -r '.[0].address')
		[ "$(jmac a "$m")" = "site-$s" ] || ms_fail "the hub has" \
		    "$m behind \"$(jmac a "$m")\", not site-$s"
	done

	# a byte-checked stream from spoke B to spoke C, 4 MB at 1 MB/s;
	# the hub's ISP 1 fails after 1 s and both legs move to ISP 2
	bytes=4000000
	ip netns exec "${P}c" timeout 60 "$XFER" recv -s 7 -t 50 \
	    198.19.0.3 5003 "$bytes" 2> xfer-recv.err |
	    sha256sum > xfer-recv.sum &
	echo $! >> helpers.pids
	_listening() {
		grep -qs listening xfer-recv.err
	}
	topo_wait 10 _listening || ms_fail "xfer does not listen at C"
	ip netns exec "${P}b" timeout 60 "$XFER" send -s 7 -c 1 \
	    -r 1000000 -t 40 198.19.0.3 5003 "$bytes" 2> xfer-send.err &
	echo $! > xfer.pid
	echo $! >> helpers.pids
	sleep 1
	mesh_cut "$P" a 1 || ms_fail "cannot cut the hub's ISP 1"
	topo_wait 50 ping_ended "$(cat xfer.pid)" ||
	    ms_fail "the transfer did not end: $(tail -n 2 xfer-send.err)"
	sleep 1
	want=$("$XFER" gen -s 7 "$bytes" | sha256sum)
	got=$(cat xfer-recv.sum)
	conns=$(grep -c 'from offset' xfer-recv.err)
	echo "transfer B to C across the cut: $conns connection(s);" \
	    "$(tail -n 1 xfer-send.err); $(tail -n 1 xfer-recv.err)"
	[ "$want" = "$got" ] || ms_fail "what C got is not what B sent:" \
	    "$(cat xfer-send.err xfer-recv.err)"
	[ "$conns" = 1 ] ||
	    ms_fail "the stream did not survive: $conns connections"
	for s in b c; do
		[ "$(jpipe_peer a "site-$s" isp1 state)" != up ] ||
		    ms_fail "the cut did not take the hub's isp1 pipe down"
		[ "$(jpipe_peer a "site-$s" isp2 active)" = true ] ||
		    ms_fail "the hub does not send to $s over isp2"
	done
	all_pairs "across the cut of the hub's ISP 1"
	mesh_restore "$P" a 1
}
hub_spoke_cleanup() {
	ms_cleanup
}

atf_test_case two_hubs cleanup
two_hubs_head() {
	atf_set descr "Two hubs that peer with each other, a spoke each:" \
	    "a frame is relayed once, so the spokes do not reach each" \
	    "other, each reaches both hubs, a broadcast stops at the" \
	    "second hub, as marconid.conf(5) says"
	ms_head 180
}
two_hubs_body() {
	echo "a b c d" > sites
	ms_init
	make_mesh
	# hubs A and B; C a spoke of A, D a spoke of B
	mesh_conf a a.conf "$PWD" b c || atf_fail "cannot write a.conf"
	mesh_conf b b.conf "$PWD" a d || atf_fail "cannot write b.conf"
	mesh_conf c c.conf "$PWD" a || atf_fail "cannot write c.conf"
	mesh_conf d d.conf "$PWD" b || atf_fail "cannot write d.conf"
	echo "relay yes" >> a.conf
	echo "relay yes" >> b.conf
	for s in $SITES; do
		start_site "$s"
	done
	topo_wait 30 every_pipe_up || ms_fail "not every pipe is up in 30 s"
	for pair in "c a" "c b" "d b" "d a" "a b"; do
		# shellcheck disable=SC2086 # two words
		set -- $pair
		topo_ping "$P$1" "198.19.0.$(_mesh_idx "$2")" 10 ||
		    ms_fail "site $1 does not reach site $2 across the hubs"
		topo_ping "$P$2" "198.19.0.$(_mesh_idx "$1")" 10 ||
		    ms_fail "site $2 does not reach site $1 across the hubs"
	done
	topo_noping "${P}c" 198.19.0.4 3 ||
	    ms_fail "spoke C reaches spoke D through both hubs"
	topo_noping "${P}d" 198.19.0.3 3 ||
	    ms_fail "spoke D reaches spoke C through both hubs"
	# 5 broadcasts from C: hub A relays them once, to hub B, whose tap
	# gets them and relays them no further
	for s in $SITES; do
		bcast_count_start "$s"
	done
	ip netns exec "${P}c" ping -b -n -q -c 5 -i 0.2 -W 1 \
	    198.19.0.255 > bcast-c.out 2>&1
	sleep 2
	seen=""
	for s in $SITES; do
		seen="$seen $s:$(bcast_count "$s" c)"
	done
	echo "5 broadcasts from spoke C, seen at the taps:$seen"
	[ "$seen" = " a:5 b:5 c:0 d:0" ] ||
	    ms_fail "5 broadcasts from spoke C reached the taps:$seen"
}
two_hubs_cleanup() {
	ms_cleanup
}

atf_init_test_cases() {
	atf_add_test_case reload_reorder
	atf_add_test_case reload_keeps_macs
	atf_add_test_case full_mesh
	atf_add_test_case mesh4
	atf_add_test_case mac_move
	atf_add_test_case hub_spoke
	atf_add_test_case two_hubs
}
