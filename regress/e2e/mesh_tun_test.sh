#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # functions run by topo_wait
#
# End-to-end tests of three sites in a full mesh over tun (mesh.sh):
# each owns 198.19.S.0/24 and 2001:db8:19:S::/64 ("network"), and
# peers with the two others over isp1 and isp2.  Each site runs its
# file of the tun mesh example of marconid.conf(5) as the manual page
# gives it (mesh_tun_example in mesh.sh, scripts/man-example), with its
# macros (fingerprints, certificate, key) given by marconid -D.
#
# routing: every pair reaches the other over IPv4, A reaches C over
# IPv6; the routes are in A's kernel and in show routes; 200 packets
# to an address nobody owns are dropped at A and counted, and reach
# neither B's nor C's tun0 (nft counters at their ingress); 50
# packets from A with a source outside A's network are dropped at B
# and counted, and never reach B's tun0.
#
# reload_cut: a reload that adds networks adds their routes, leaves a
# route the administrator made alone, and one that takes them away
# removes them, while the routes that stay are not touched and keep
# their counters; a cut of
# B's first provider loses no packet between A and C; at exit A
# removes the routes it installed, and those only.
#
# hub_relay: A is a hub (relay), B and C are spokes that peer with A
# only, each naming the other spoke's network in its block for A.
# Without relay, B does not reach C (A's kernel does not forward);
# after a reload with relay yes it does, through A's engine: A's
# route to C counts the packets, and A's tun0 gets none of them.
#
# Every test case records the PIDs of what it starts in its work
# directory; its cleanup ends those processes, by PID only, and removes
# the namespaces, whatever the body did.  Every loop is bounded in
# count and in time.

mt_init() {
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
		P=mt$$
		echo "$P" > prefix
	fi
	SITES="a b c"
}

mt_head() {
	atf_set require.user root
	atf_set timeout "${1:-180}"
	atf_set require.progs "ip nft openssl ping ps jq awk"
}

mt_fail() {
	for s in $SITES; do
		if [ -S "$s.sock" ]; then
			echo "--- site $s: show pipes, routes, interfaces" >&2
			ctl "$s" show pipes >&2 2>&1
			ctl "$s" show routes >&2 2>&1
			ctl "$s" show interfaces >&2 2>&1
		fi
		if [ -s "$s.log" ]; then
			echo "--- site $s: the last lines of its log" >&2
			tail -n 30 "$s.log" >&2
		fi
	done
	atf_fail "$(echo "$*" | tr -s '\n\t' '  ' | cut -c 1-400)"
}

mt_cleanup() {
	mt_init
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

all_pipes_up() {
	for _s in $SITES; do
		[ "$(ctl "$_s" -j show pipes 2>/dev/null | jq \
		    '[.pipes[] | select(.state == "up")] | length' \
		    2>/dev/null)" = 4 ] || return 1
	done
	return 0
}

# the macros of SITE's file from the manual: its identity, its peers'
site_args() {
	_a="-D site_crt=$PWD/site-$1.crt -D site_key=$PWD/site-$1.key"
	for _o in $SITES; do
		[ "$_o" = "$1" ] && continue
		_a="$_a -D fpr_$_o=$(site_fingerprint "$PWD/site-$_o.crt")"
	done
	echo "$_a"
}

start_site() {
	args=$(site_args "$1")
	# shellcheck disable=SC2086 # args holds several words
	"$MARCONID" -n $args -f "$PWD/$1.conf" > "$1.check" 2>&1 ||
	    mt_fail "marconid -n refuses $1.conf: $(cat "$1.check")"
	# shellcheck disable=SC2086
	ip netns exec "$P$1" "$MARCONID" -dv $args -f "$PWD/$1.conf" \
	    -s "$PWD/$1.sock" > "$1.log" 2>&1 &
	echo $! > "$1.pid"
	topo_wait 15 ctl_answers_or_dead "$1" || true
	topo_alive "$(cat "$1.pid")" ||
	    mt_fail "marconid of site $1 exited at startup"
	ctl_answers "$1" ||
	    mt_fail "no answer on site $1's control socket in 15 s"
	ps -o pid= --ppid "$(cat "$1.pid")" >> children.pids 2>/dev/null
}

make_tun_mesh() {
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	[ -x "$MARCONICTL" ] || atf_fail "$MARCONICTL is not built"
	id -u _marconid >/dev/null 2>&1 ||
	    atf_fail "user _marconid is missing (scripts/add-user)"
	mesh_create "$P" "$SITES" || atf_fail "cannot build the mesh"
	for s in $SITES; do
		site_identity "$PWD" "site-$s" ||
		    atf_fail "cannot make the identity of site $s"
	done
	for s in $SITES; do
		mesh_tun_example "$TOP" "$s" "$s.conf" ||
		    atf_fail "no example tun-$s in marconid.conf.5"
	done
	for s in $SITES; do
		start_site "$s"
	done
	topo_wait 30 all_pipes_up ||
	    mt_fail "not every pipe is up within 30 s"
}

all_pairs() {
	for s in $SITES; do
		for o in $SITES; do
			[ "$s" = "$o" ] && continue
			topo_ping "$P$s" "198.19.$(_mesh_idx "$o").1" 10 ||
			    mt_fail "site $s does not reach site $o ($1)"
		done
	done
}

# counters at the ingress of SITE's tun0: what the engine writes to it
tun_count_start() {
	ip netns exec "$P$1" nft -f - <<EOF || mt_fail "no counter at $1"
table netdev tun_count
delete table netdev tun_count
table netdev tun_count {
	chain in {
		type filter hook ingress device "tun0" priority 0;
		ip daddr 198.19.99.0/24 counter
		ip saddr 198.19.77.0/24 counter
	}
}
EOF
}

tun_count() {
	ip netns exec "$P$1" nft list table netdev tun_count 2>/dev/null |
	    awk -v what="$2" '$0 ~ what && /counter packets/ {
		for (i = 1; i < NF; i++)
			if ($i == "packets")
				n += $(i + 1)
	    } END { print n + 0 }'
}

iface_field() {
	ctl "$1" -j show interfaces | jq -r ".interfaces[0].$2"
}

# ---------------------------------------------------------------------

atf_test_case routing cleanup
routing_head() {
	atf_set descr "Tun full mesh: every pair reaches the other; a" \
	    "packet to nobody's network or with a source not the peer's" \
	    "is dropped, counted, and reaches no other site"
	mt_head 180
}
routing_body() {
	mt_init
	make_tun_mesh
	all_pairs "IPv4"
	topo_ping "${P}a" 2001:db8:19:3::1 10 ||
	    mt_fail "site a does not reach site c over IPv6"

	# the routes: in the kernel, and as show routes has them
	ip -n "${P}a" route show dev tun0 > routes4.txt
	ip -n "${P}a" -6 route show dev tun0 > routes6.txt
	for r in 198.19.2.0/24 198.19.3.0/24; do
		grep -q "^$r " routes4.txt ||
		    mt_fail "no route $r on A's tun0: $(cat routes4.txt)"
	done
	grep -q "^2001:db8:19:3::/64 " routes6.txt ||
	    mt_fail "no route 2001:db8:19:3::/64: $(cat routes6.txt)"
	ctl a -j show routes > routes.json
	n=$(jq '[.routes[] | select(.kernel and .state == "up")] | length' \
	    routes.json)
	[ "$n" = 4 ] || mt_fail "show routes: $n of 4 up and installed:" \
	    "$(cat routes.json)"
	n=$(jq '.routes[] | select(.prefix == "198.19.3.0/24" and
	    .peer == "site-c") | .packets' routes.json)
	[ "${n:-0}" -gt 0 ] ||
	    mt_fail "show routes: nothing routed to site-c: $(cat routes.json)"

	# 200 packets to an address nobody owns, routed to tun0 by hand
	tun_count_start b
	tun_count_start c
	ip -n "${P}a" route add 198.19.99.0/24 dev tun0 ||
	    mt_fail "cannot route 198.19.99.0/24 to A's tun0"
	before=$(iface_field a dropped_no_route)
	ip netns exec "${P}a" ping -n -q -c 200 -i 0.005 -W 1 198.19.99.1 \
	    > unowned.out 2>&1
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' unowned.out)
	dropped=$(($(iface_field a dropped_no_route) - before))
	atb=$(tun_count b 198.19.99)
	atc=$(tun_count c 198.19.99)
	echo "to 198.19.99.1: A sent $sent, dropped $dropped without a" \
	    "route; B's tun0 got $atb, C's $atc"
	[ "$sent" = 200 ] || mt_fail "ping sent $sent: $(cat unowned.out)"
	[ "$dropped" -ge 200 ] ||
	    mt_fail "A counted $dropped packets without a route, not 200"
	if [ "$atb" != 0 ] || [ "$atc" != 0 ]; then
		mt_fail "packets to nobody's network reached B ($atb), C ($atc)"
	fi

	# 50 packets from A with a source outside A's network, to B
	ip -n "${P}a" addr add 198.19.77.1/32 dev lo ||
	    mt_fail "cannot add 198.19.77.1 at A"
	before=$(iface_field b dropped_bad_source)
	ip netns exec "${P}a" ping -n -q -c 50 -i 0.01 -W 1 -I 198.19.77.1 \
	    198.19.2.1 > spoof.out 2>&1
	dropped=$(($(iface_field b dropped_bad_source) - before))
	atb=$(tun_count b 198.19.77)
	refused=$(ctl b -j show routes | jq '[.routes[] |
	    select(.peer == "site-a") | .peer_refused] | max')
	echo "from 198.19.77.1 to B: B dropped $dropped, its tun0 got $atb;" \
	    "show routes at B: $refused refused from site-a"
	[ "$dropped" -ge 50 ] ||
	    mt_fail "B counted $dropped packets with a bad source, not 50"
	[ "$refused" -ge 50 ] ||
	    mt_fail "show routes at B: $refused refused from site-a"
	[ "$atb" = 0 ] ||
	    mt_fail "$atb packets with a source not A's reached B's tun0"
	all_pairs "after the drops"
}
routing_cleanup() {
	mt_cleanup
}

# the routes of A's tun0, IPv4, one prefix a line
a_routes() {
	ip -n "${P}a" route show dev tun0 | awk '{ print $1 }' | sort
}

a_route_kernel() {
	ctl a -j show routes | jq -r ".routes[] | select(.prefix == \"$1\") |
	    .kernel"
}

pipe_state() {
	ctl "$1" -j show pipes | jq -r ".pipes[] | select(.peer == \"$2\" and
	    .uplink == \"$3\") | .state"
}

pipe_not_up() {
	[ "$(pipe_state "$@")" != up ]
}

atf_test_case reload_cut cleanup
reload_cut_head() {
	atf_set descr "Tun full mesh: reloads add and remove the routes of" \
	    "networks and leave the others; a cut at B changes nothing" \
	    "between A and C; exit removes what was installed, only that"
	mt_head 180
}
reload_cut_body() {
	mt_init
	make_tun_mesh

	# traffic to C, whose counter must outlive the reloads
	topo_ping "${P}a" 198.19.3.1 10 || mt_fail "A does not reach C"
	counted=$(ctl a -j show routes | jq '.routes[] |
	    select(.prefix == "198.19.3.0/24") | .packets')

	# the administrator's route, which marconid must leave alone
	ip -n "${P}a" route add 198.19.44.0/24 dev tun0 ||
	    mt_fail "cannot add the administrator's route"
	cp a.conf a-orig.conf
	sed '/network 198.19.3.0\/24/a\
	network 198.19.33.0/24\
	network 198.19.44.0/24' a-orig.conf > a-more.conf
	chmod 0600 a-more.conf
	cp a-more.conf a.conf
	ctl a reload > reload.out 2>&1 ||
	    mt_fail "reload with more networks: $(cat reload.out)"
	topo_wait 5 sh -c "ip -n ${P}a route show dev tun0 |
	    grep -q '^198.19.33.0/24 '" ||
	    mt_fail "no route 198.19.33.0/24 after the reload: $(a_routes)"
	[ "$(a_route_kernel 198.19.33.0/24)" = true ] ||
	    mt_fail "show routes: 198.19.33.0/24 not installed"
	[ "$(a_route_kernel 198.19.44.0/24)" = false ] ||
	    mt_fail "show routes: 198.19.44.0/24, the administrator's," \
	    "reported as installed"
	grep -q "198.19.44.0/24 is there already, not ours" a.log ||
	    mt_fail "no warning about the administrator's route"

	cp a-orig.conf a.conf
	ctl a reload > reload.out 2>&1 ||
	    mt_fail "reload back: $(a_routes)"
	topo_wait 5 sh -c "! ip -n ${P}a route show dev tun0 |
	    grep -q '^198.19.33.0/24 '" ||
	    mt_fail "route 198.19.33.0/24 still there: $(a_routes)"
	a_routes > routes.txt
	for r in 198.19.2.0/24 198.19.3.0/24 198.19.44.0/24; do
		grep -qx "$r" routes.txt ||
		    mt_fail "route $r gone after the reloads: $(cat routes.txt)"
	done
	n=$(ctl a -j show routes | jq '.routes[] |
	    select(.prefix == "198.19.3.0/24") | .packets')
	if [ "${counted:-0}" -eq 0 ] || [ "${n:-0}" -lt "$counted" ]; then
		mt_fail "route 198.19.3.0/24 counted $counted, $n after reloads"
	fi
	# the routes that stayed were never taken away and put back
	for r in 198.19.2.0/24 198.19.3.0/24; do
		n=$(grep -c "route $r added" a.log)
		[ "$n" = 1 ] || mt_fail "route $r added $n times"
		! grep -q "route $r removed" a.log ||
		    mt_fail "route $r removed by a reload that kept it"
	done

	# B loses its first provider while A pings C
	ip netns exec "${P}a" ping -n -q -c 400 -i 0.01 -w 20 198.19.3.1 \
	    > ac.out 2>&1 &
	echo $! > ping.pid
	echo $! >> helpers.pids
	sleep 1
	mesh_cut "$P" b 1 || mt_fail "cannot cut B's isp1"
	topo_wait 10 pipe_not_up a site-b isp1 ||
	    mt_fail "A's pipe to B over isp1 still up after the cut"
	topo_wait 25 sh -c "! kill -0 $(cat ping.pid) 2>/dev/null" ||
	    mt_fail "ping did not end"
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' ac.out)
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' ac.out)
	echo "A to C across a cut of B's isp1: $got of $sent answered"
	[ "$sent" = 400 ] || mt_fail "ping A to C: $(cat ac.out)"
	[ "$got" = "$sent" ] ||
	    mt_fail "A to C lost $((sent - got)) of $sent during B's cut"
	topo_ping "${P}a" 198.19.2.1 10 ||
	    mt_fail "A does not reach B over isp2 during the cut"
	mesh_restore "$P" b 1

	# at exit: ours removed, the administrator's not touched
	kill -TERM "$(cat a.pid)"
	topo_wait 10 sh -c "! kill -0 $(cat a.pid) 2>/dev/null" ||
	    mt_fail "site A did not exit"
	for r in 198.19.2.0/24 198.19.3.0/24; do
		grep -q "route $r removed" a.log ||
		    mt_fail "route $r not removed at exit"
	done
	! grep -q "route 198.19.44.0/24 removed" a.log ||
	    mt_fail "the administrator's route removed at exit"
}
reload_cut_cleanup() {
	mt_cleanup
}

pipes_up_at() {
	ctl "$1" -j show pipes 2>/dev/null |
	    jq '[.pipes[] | select(.state == "up")] | length' 2>/dev/null
}

hub_pipes_up() {
	[ "$(pipes_up_at a)" = 4 ] && [ "$(pipes_up_at b)" = 2 ] &&
	    [ "$(pipes_up_at c)" = 2 ]
}

atf_test_case hub_relay cleanup
hub_relay_head() {
	atf_set descr "Tun hub and spokes: with relay, the hub's engine" \
	    "sends a spoke's packets on to the spoke owning the" \
	    "destination, and not to its own interface"
	mt_head 180
}
hub_relay_body() {
	mt_init
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	id -u _marconid >/dev/null 2>&1 ||
	    atf_fail "user _marconid is missing (scripts/add-user)"
	mesh_create "$P" "$SITES" || atf_fail "cannot build the mesh"
	for s in $SITES; do
		site_identity "$PWD" "site-$s" ||
		    atf_fail "cannot make the identity of site $s"
	done
	mesh_tun_conf a a-norelay.conf "$PWD" b c ||
	    atf_fail "cannot write a.conf"
	{ echo "relay yes"; cat a-norelay.conf; } > a-relay.conf
	chmod 0600 a-relay.conf
	cp a-norelay.conf a.conf
	mesh_tun_conf b b.conf "$PWD" a || atf_fail "cannot write b.conf"
	mesh_tun_conf c c.conf "$PWD" a || atf_fail "cannot write c.conf"
	# a spoke's block for the hub holds the other spoke's network too
	sed -i '/network 198.19.1.0\/24/a\
	network 198.19.3.0/24' b.conf
	sed -i '/network 198.19.1.0\/24/a\
	network 198.19.2.0/24' c.conf
	for s in $SITES; do
		"$MARCONID" -n -f "$PWD/$s.conf" > "$s.check" 2>&1 ||
		    mt_fail "marconid -n refuses $s.conf: $(cat "$s.check")"
		ip netns exec "$P$s" "$MARCONID" -dv -f "$PWD/$s.conf" \
		    -s "$PWD/$s.sock" > "$s.log" 2>&1 &
		echo $! > "$s.pid"
		topo_wait 15 ctl_answers_or_dead "$s" || true
		ctl_answers "$s" || mt_fail "site $s does not answer"
		ps -o pid= --ppid "$(cat "$s.pid")" >> children.pids \
		    2>/dev/null
	done
	topo_wait 30 hub_pipes_up || mt_fail "not every pipe is up in 30 s"
	topo_ping "${P}b" 198.19.1.1 10 || mt_fail "B does not reach the hub"
	topo_ping "${P}c" 198.19.1.1 10 || mt_fail "C does not reach the hub"
	! topo_ping "${P}b" 198.19.3.1 2 ||
	    mt_fail "B reaches C through a hub without relay"

	cp a-relay.conf a.conf
	ctl a reload > reload.out 2>&1 || mt_fail "reload: $(cat reload.out)"
	tun_count_start a
	ip netns exec "${P}a" nft add rule netdev tun_count in \
	    ip daddr 198.19.3.1 counter ||
	    mt_fail "no counter at A"
	before=$(ctl a -j show routes | jq '.routes[] |
	    select(.prefix == "198.19.3.0/24") | .packets')
	topo_ping "${P}b" 198.19.3.1 10 ||
	    mt_fail "B does not reach C through the hub with relay"
	ip netns exec "${P}b" ping -n -q -c 50 -i 0.01 -W 1 198.19.3.1 \
	    > bc.out 2>&1
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' bc.out)
	after=$(ctl a -j show routes | jq '.routes[] |
	    select(.prefix == "198.19.3.0/24") | .packets')
	ata=$(tun_count a 198.19.3.1)
	echo "B to C through hub A: $got of 50 answered; A relayed" \
	    "$((after - before)) packets to C; A's tun0 got $ata of them"
	[ "$got" -ge 45 ] || mt_fail "B to C: $got of 50 answered"
	[ $((after - before)) -ge 50 ] ||
	    mt_fail "A's route to C counts $((after - before)) packets"
	[ "$ata" = 0 ] || mt_fail "A's tun0 got $ata packets meant for C"
}
hub_relay_cleanup() {
	mt_cleanup
}

atf_init_test_cases() {
	atf_add_test_case routing
	atf_add_test_case reload_cut
	atf_add_test_case hub_relay
}
