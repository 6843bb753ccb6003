#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # functions run by topo_wait
#
# End-to-end tests of the encrypted pipes (doc/wire.md): site A and
# site B of the two-site topology (topology.sh), each with one uplink
# (isp1) through ISP 1 and its own marconid, and traffic sent across
# the virtual segment between their tap interfaces: pings over IPv4
# and IPv6, full-size frames with DF, a TCP stream whose bytes are
# compared end to end, and what a pipe must refuse: a peer with the
# wrong certificate, garbage, replayed and forged datagrams.  One case
# puts site B behind a NAT at ISP 1, facing a passive site A.  Two count
# the UDP datagrams of site A's namespace at rest: one each way per
# probe interval between two sites of this version (probes with echo),
# two each way when site B is a test build (regress/e2e/marconid-test)
# that does not announce them, as an older release.
#
# Every test case records the PIDs of what it starts in its work
# directory; its cleanup ends those processes, by PID only, and removes
# the namespaces, whatever the body did.  Every wait is bounded.

# ---------------------------------------------------------------------
# helpers

# Paths and the topology library; called first by every body and cleanup.
pipes_init() {
	SRCDIR=$(cd "$(atf_get_srcdir)" && pwd)
	TOP=$(cd "$SRCDIR/../.." && pwd)
	# absolute: the daemon re-executes itself for each child
	MARCONID=$TOP/marconid/marconid
	MARCONICTL=$TOP/marconictl/marconictl
	# shellcheck source=topology.sh
	. "$SRCDIR/topology.sh"
	# shellcheck source=common.sh
	. "$SRCDIR/common.sh"
	if [ -s prefix ]; then
		P=$(cat prefix)
	else
		P=mp$$
		echo "$P" > prefix
	fi
	PORT=7455
	# site B's uplink, where the datagrams from site A arrive
	B_UPLINK=198.18.11.2
}

# pipes_head [TIMEOUT [PROGRAM...]]: what every test case needs, and
# what this one needs besides
pipes_head() {
	_timeout=${1:-120}
	[ $# -eq 0 ] || shift
	atf_set require.user root
	atf_set timeout "$_timeout"
	atf_set require.progs "ip nft openssl ping ps nc jq timeout $*"
}

# Fails the test case, after showing what the daemons said and saw; the
# reason is one line (kyua takes no other), what it quotes goes to the
# standard error whole.
pipes_fail() {
	case "$*" in
	*"
"*)
		echo "--- $*" >&2
		;;
	esac
	for s in a b; do
		if [ -S "$s.sock" ]; then
			echo "--- site $s: show pipes" >&2
			ctl "$s" show pipes >&2 2>&1
			ctl "$s" -j show pipes >&2 2>&1
		fi
		if [ -s "$s.log" ]; then
			echo "--- site $s: the last lines of its log" >&2
			tail -n 40 "$s.log" >&2
		fi
	done
	atf_fail "$(echo "$*" | tr -s '\n\t' '  ' | cut -c 1-400)"
}

# The state of the one pipe of site $1 (over isp1), from the STATE
# column of `show pipes`.
pipe_state() {
	ctl "$1" show pipes 2>/dev/null | awk '
	    NR == 1 { for (i = 1; i <= NF; i++) if ($i == "STATE") c = i; next }
	    $2 == "isp1" && c { print $c }'
}

pipe_up() {
	[ "$(pipe_state "$1")" = up ]
}

both_up() {
	pipe_up a && pipe_up b
}

either_up() {
	pipe_up a || pipe_up b
}

# jfield SITE FILTER: a field of the pipe over isp1 from `-j show pipes`,
# as jq prints it; empty when it is null or missing.
jfield() {
	ctl "$1" -j show pipes 2>/dev/null | jq -r \
	    ".pipes[] | select(.uplink == \"isp1\") | $2" 2>/dev/null |
	    sed 's/^null$//'
}

# The drop counters of site $1 (doc/wire.md names the reasons): fails
# the test case when marconictl does not give them all.
check_counters() {
	for _r in s .short .badtype .nosession .stalekey .auth .replay \
	    .frag; do
		case "$(jfield "$1" ".drop$_r")" in
		""|*[!0-9]*)
			pipes_fail "marconictl -j show pipes at site $1 has" \
			    "no counter drop$_r: $(ctl "$1" -j show pipes 2>&1)"
			;;
		esac
	done
}

# drop_of SITE REASON: the datagrams that site's pipe dropped for that
# reason; drops_of SITE: for all reasons.
drop_of() {
	_n=$(jfield "$1" ".drop.$2")
	echo "${_n:-0}"
}

drops_of() {
	_n=$(jfield "$1" .drops)
	echo "${_n:-0}"
}

# Builds the sites and both identities, and a third one that neither
# site pins (for the wrong fingerprint).
make_sites() {
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	[ -x "$MARCONICTL" ] || atf_fail "$MARCONICTL is not built"
	id -u _marconid >/dev/null 2>&1 ||
	    atf_fail "user _marconid is missing (scripts/add-user)"

	topo_create "$P" || atf_fail "cannot build the topology"
	for n in site-a site-b site-x; do
		site_identity "$PWD" "$n" ||
		    atf_fail "cannot make the identity of $n"
	done
	FPR_A=$(site_fingerprint site-a.crt) || atf_fail "no fingerprint"
	FPR_B=$(site_fingerprint site-b.crt) || atf_fail "no fingerprint"
	FPR_X=$(site_fingerprint site-x.crt) || atf_fail "no fingerprint"
}

# write_conf SITE PEER_FPR [REMOTE]: SITE.conf, over isp1 only
write_conf() {
	site_conf1 "$1" "$PWD/$1.conf" "$PWD/site-$1.crt" \
	    "$PWD/site-$1.key" "$2" ${3:+"$3"} ||
	    atf_fail "cannot write $1.conf"
}

# start_site SITE: its daemon in its namespace, in the foreground with
# debug logs to SITE.log; waits for its control socket.
start_site() {
	ip netns exec "$P$1" "$MARCONID" -dv -f "$PWD/$1.conf" \
	    -s "$PWD/$1.sock" > "$1.log" 2>&1 &
	echo $! > "$1.pid"

	topo_wait 15 ctl_answers_or_dead "$1" || true
	topo_alive "$(cat "$1.pid")" ||
	    pipes_fail "marconid of site $1 exited at startup"
	ctl_answers "$1" ||
	    pipes_fail "no answer on site $1's control socket in 15 s"
	# its children, for the cleanup should the parent die first
	ps -o pid= --ppid "$(cat "$1.pid")" >> children.pids 2>/dev/null
}

# The usual start: both sites, each pinning the other's fingerprint,
# each connecting to the other, and a wait for the pipe to come up at
# both ends.
start_both() {
	make_sites
	write_conf a "$FPR_B"
	write_conf b "$FPR_A"
	start_site a
	start_site b
	wait_up
}

wait_up() {
	topo_wait 15 both_up ||
	    pipes_fail "the pipe is not up at both sites within 15 s:" \
	    "site a \"$(pipe_state a)\", site b \"$(pipe_state b)\""
}

# ping6_answers NS ADDR [TRIES]: as topo_ping, over IPv6; the first
# tries may go while duplicate address detection holds the address.
ping6_answers() {
	_t=0
	while [ "$_t" -lt "${3:-5}" ]; do
		if ip netns exec "$1" ping -6 -n -q -c 1 -W 1 "$2" \
		    >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.5
		_t=$((_t + 1))
	done
	return 1
}

# The MAC address of interface $2 in namespace $1, in lowercase.
mac_of() {
	ip -n "$1" -o link show "$2" 2>/dev/null |
	    sed -n 's|.*link/ether \([0-9a-fA-F:]*\).*|\1|p' | tr A-F a-f
}

# The MAC address that the neighbour table of namespace $1 holds for
# $2, in lowercase; empty when unresolved.
neigh_mac() {
	ip -n "$1" neigh show "$2" dev tap0 2>/dev/null |
	    sed -n 's/.* lladdr \([0-9a-fA-F:]*\).*/\1/p' | tr A-F a-f
}

# The cleanup of every test case: the helpers and the daemons we
# started, by PID, then the namespaces (which also ends whatever is
# left inside them).
pipes_cleanup() {
	pipes_init
	if [ -f helpers.pids ]; then
		while read -r pid prog; do
			is_prog "$pid" "$prog" && kill -TERM "$pid" 2>/dev/null
		done < helpers.pids
	fi
	parents=""
	for f in a.pid b.pid; do
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

# The daemons must have lived through it all, and no uplink process
# must have been restarted (a crash the parent repairs would otherwise
# go unseen).
check_alive() {
	for s in a b; do
		topo_alive "$(cat "$s.pid")" ||
		    pipes_fail "marconid of site $s died"
		r=$(jfield "$s" .restarts)
		[ "${r:-0}" -eq 0 ] ||
		    pipes_fail "site $s restarted its uplink process $r times"
	done
}

# Sends the file $1 as one UDP datagram from ISP 1 to site B's uplink.
send_from_isp() {
	ip netns exec "${P}isp1" timeout 5 nc -u -w 1 -q 0 \
	    "$B_UPLINK" "$PORT" < "$1" >/dev/null 2>&1
}

# bytes FILE OFFSET OCTAL...: overwrites the bytes of FILE at OFFSET
bytes() {
	_f=$1
	_o=$2
	shift 2
	for _b in "$@"; do
		# shellcheck disable=SC2059 # the format is the byte
		printf "\\$_b" | dd of="$_f" bs=1 seek="$_o" conv=notrunc \
		    2>/dev/null
		_o=$((_o + 1))
	done
}

# ---------------------------------------------------------------------

atf_test_case ping_v4_v6 cleanup
ping_v4_v6_head() {
	atf_set descr "Echo requests cross the pipe both ways over IPv4" \
	    "and IPv6, and ARP resolves the other site's tap MAC address"
	pipes_head
}
ping_v4_v6_body() {
	pipes_init
	start_both

	topo_ping "${P}a" 198.19.0.2 10 ||
	    pipes_fail "198.19.0.2 does not answer site A"
	topo_ping "${P}b" 198.19.0.1 10 ||
	    pipes_fail "198.19.0.1 does not answer site B"
	# duplicate address detection and neighbour discovery first
	ping6_answers "${P}a" 2001:db8:19::2 20 ||
	    pipes_fail "2001:db8:19::2 does not answer site A"
	ping6_answers "${P}b" 2001:db8:19::1 20 ||
	    pipes_fail "2001:db8:19::1 does not answer site B"

	# ARP crossed: site A knows site B's tap by its real address
	mac_b=$(mac_of "${P}b" tap0)
	[ -n "$mac_b" ] || pipes_fail "site B's tap0 has no MAC address"
	mac=$(neigh_mac "${P}a" 198.19.0.2)
	[ -n "$mac" ] || pipes_fail "site A did not resolve 198.19.0.2:" \
	    "$(ip -n "${P}a" neigh show 198.19.0.2 2>&1)"
	[ "$mac" = "$mac_b" ] ||
	    pipes_fail "site A has $mac for 198.19.0.2, site B's tap0 is $mac_b"
	check_alive
}
ping_v4_v6_cleanup() {
	pipes_cleanup
}

atf_test_case full_mtu_df cleanup
full_mtu_df_head() {
	atf_set descr "1500-byte IPv4 and IPv6 packets with DF cross the" \
	    "pipe over a 1500-byte underlay: the segment keeps its MTU," \
	    "marconid fragments the frames, the ISP sees no IP fragment"
	pipes_head
}
full_mtu_df_body() {
	pipes_init
	start_both
	isp_count_fragments "$P" 1 || atf_fail "cannot count at ISP 1"

	for s in a b; do
		atf_check -s exit:0 -o match:' mtu 1500 ' -e empty \
		    ip -n "$P$s" link show tap0
	done
	# resolves the neighbours first, with small packets
	topo_ping "${P}a" 198.19.0.2 10 ||
	    pipes_fail "198.19.0.2 does not answer site A"
	ping6_answers "${P}a" 2001:db8:19::2 20 ||
	    pipes_fail "2001:db8:19::2 does not answer site A"

	# 1472 + 8 (ICMP) + 20 (IPv4) = 1500, and the frame is 1514
	ip netns exec "${P}a" ping -n -Mdo -s 1472 -c 3 -W 2 198.19.0.2 \
	    > ping4.out 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] || ! grep -q ' 3 received' ping4.out; then
		pipes_fail "1500-byte IPv4 pings with DF: $(cat ping4.out)"
	fi
	grep -q '^1480 bytes from 198\.19\.0\.2' ping4.out ||
	    pipes_fail "no full-size IPv4 answer: $(cat ping4.out)"

	# 1452 + 8 (ICMPv6) + 40 (IPv6) = 1500
	ip netns exec "${P}a" ping -6 -n -Mdo -s 1452 -c 3 -W 2 \
	    2001:db8:19::2 > ping6.out 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] || ! grep -q ' 3 received' ping6.out; then
		pipes_fail "1500-byte IPv6 pings: $(cat ping6.out)"
	fi
	grep -q '^1460 bytes from 2001:db8:19::2' ping6.out ||
	    pipes_fail "no full-size IPv6 answer: $(cat ping6.out)"

	n=$(isp_fragments "$P" 1)
	[ "$n" -eq 0 ] ||
	    pipes_fail "ISP 1 forwarded $n IP fragments: the datagrams" \
	    "do not fit the underlay"
	check_alive
}
full_mtu_df_cleanup() {
	pipes_cleanup
}

atf_test_case narrow_path cleanup
narrow_path_head() {
	atf_set descr "a path narrower than 1500 bytes is found with padded" \
	    "probes and full-size frames still cross with DF"
	pipes_head
}
narrow_path_body() {
	pipes_init
	make_sites
	# the ISP's link towards site B carries 1400 bytes only
	ip -n "${P}isp1" link set siteb mtu 1400 ||
	    atf_fail "cannot narrow the path at ISP 1"
	write_conf a "$FPR_B"
	write_conf b "$FPR_A"
	start_site a
	start_site b
	wait_up
	topo_ping "${P}a" 198.19.0.2 10 ||
	    pipes_fail "198.19.0.2 does not answer site A"
	# give the search (300 ms a try, 3 tries a size) time to finish
	i=0
	while [ "$i" -lt 100 ]; do
		m=$(jfield a .pmtu)
		[ -n "$m" ] && [ "$m" -gt 0 ] && [ "$m" -le 1372 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	[ -n "$m" ] && [ "$m" -gt 0 ] && [ "$m" -le 1372 ] ||
	    pipes_fail "site A's path MTU is \"$m\", not at most 1372"
	ip netns exec "${P}a" ping -n -Mdo -s 1472 -c 3 -W 2 198.19.0.2 \
	    > ping4.out 2>&1
	grep -q ' 3 received' ping4.out ||
	    pipes_fail "1500-byte pings over a 1400-byte path: $(cat ping4.out)"
	check_alive
}
narrow_path_cleanup() {
	pipes_cleanup
}

atf_test_case rekey_no_loss cleanup
rekey_no_loss_head() {
	atf_set descr "keys replaced every second under traffic: no ping" \
	    "lost at the switch, and the rekeys counted"
	pipes_head
}
rekey_no_loss_body() {
	pipes_init
	make_sites
	write_conf a "$FPR_B"
	write_conf b "$FPR_A"
	for s in a b; do
		site_conf_global "$PWD/$s.conf" "rekey interval 1s" ||
		    atf_fail "cannot set the rekey interval"
	done
	start_site a
	start_site b
	wait_up
	topo_ping "${P}a" 198.19.0.2 10 ||
	    pipes_fail "198.19.0.2 does not answer site A"
	# about 6 s of a ping every 10 ms: several rekeys on the way
	ip netns exec "${P}a" ping -n -q -i 0.01 -c 400 -W 1 198.19.0.2 \
	    > ping.out 2>&1
	grep -q ' 400 received' ping.out ||
	    pipes_fail "pings lost across rekeys: $(tail -2 ping.out)"
	sleep 1.5	# the counters reach marconictl once a second
	for s in a b; do
		r=$(jfield "$s" .rekeys)
		[ -n "$r" ] && [ "$r" -ge 3 ] ||
		    pipes_fail "site $s counts \"$r\" rekeys, not 3 or more"
		st=$(jfield "$s" .drop.stalekey)
		[ "$st" = 0 ] ||
		    pipes_fail "site $s dropped $st datagrams as stale keys"
	done
	check_alive
}
rekey_no_loss_cleanup() {
	pipes_cleanup
}

atf_test_case tcp_50mb cleanup
tcp_50mb_head() {
	atf_set descr "50 MB of random bytes cross the pipe in one TCP" \
	    "connection and arrive unchanged"
	pipes_head 300 sha256sum ss
}
tcp_50mb_body() {
	pipes_init
	head -c 52428800 /dev/urandom > sent.bin ||
	    atf_fail "cannot make the data"
	start_both
	topo_ping "${P}a" 198.19.0.2 10 ||
	    pipes_fail "198.19.0.2 does not answer site A"

	# -d: the listener reads nothing from its standard input
	ip netns exec "${P}b" timeout 200 nc -d -l 198.19.0.2 5001 \
	    > received.bin 2> nc-b.err &
	record_helper $! timeout
	listening() {
		ip netns exec "${P}b" ss -Hltn 'sport = :5001' 2>/dev/null |
		    grep -q .
	}
	topo_wait 10 listening || pipes_fail "nc does not listen at site B"

	t0=$(date +%s)
	ip netns exec "${P}a" timeout 180 nc -N 198.19.0.2 5001 \
	    < sent.bin > /dev/null 2> nc-a.err
	rc=$?
	t1=$(date +%s)
	[ "$rc" -eq 0 ] || pipes_fail "nc at site A exited $rc after" \
	    "$((t1 - t0)) s: $(cat nc-a.err)"
	listener=$(awk '{ print $1 }' helpers.pids)
	topo_wait 30 eval "! topo_alive $listener" ||
	    pipes_fail "nc at site B did not end after the sender"
	echo "50 MB in $((t1 - t0)) s" >&2

	want=$(sha256sum < sent.bin | cut -d' ' -f1)
	got=$(sha256sum < received.bin | cut -d' ' -f1)
	[ "$got" = "$want" ] || pipes_fail "received $(wc -c < received.bin)" \
	    "bytes with SHA-256 $got, sent 52428800 with $want"
	# and they came through the pipe: site B took in at least that
	# (its counters reach marconictl a moment later)
	took_in() {
		in=$(jfield b .in_bytes)
		[ "${in:-0}" -ge 52428800 ]
	}
	topo_wait 5 took_in ||
	    pipes_fail "site B's pipe took in only ${in:-0} bytes"
	echo "site B's pipe: $in bytes in $(jfield b .in_packets) frames" >&2
	check_alive
}
tcp_50mb_cleanup() {
	pipes_cleanup
}

atf_test_case wrong_fingerprint cleanup
wrong_fingerprint_head() {
	atf_set descr "A site that pins another certificate than its" \
	    "peer's refuses the session, says so in its log naming the" \
	    "peer, and no traffic crosses"
	pipes_head
}
wrong_fingerprint_body() {
	pipes_init
	make_sites
	write_conf a "$FPR_B"
	# site B expects another certificate from site A
	write_conf b "$FPR_X"
	start_site a
	start_site b

	# both sides connect at once, each retries within seconds
	if topo_wait 10 either_up; then
		pipes_fail "a pipe came up with a wrong fingerprint: site a" \
		    "\"$(pipe_state a)\", site b \"$(pipe_state b)\""
	fi
	topo_noping "${P}a" 198.19.0.2 3 ||
	    pipes_fail "198.19.0.2 answered through a refused pipe"

	# site B names the peer it expected; the words around may change
	grep -i 'fingerprint' b.log | grep 'site-a' |
	    grep -Ei 'match|refus|reject|wrong|differ|expect' > refused.txt
	[ -s refused.txt ] ||
	    pipes_fail "site B's log has no line saying that site-a's" \
	    "certificate does not match the fingerprint"
	echo "--- the refusal, as logged:" >&2
	cat refused.txt >&2
	for s in a b; do
		topo_alive "$(cat "$s.pid")" ||
		    pipes_fail "marconid of site $s died"
	done
}
wrong_fingerprint_cleanup() {
	pipes_cleanup
}

atf_test_case injected_garbage cleanup
injected_garbage_head() {
	atf_set descr "Random datagrams of 1 to 2000 bytes sent to an" \
	    "uplink are dropped and counted; datagrams an ISP delivers" \
	    "twice are dropped as replays; the pipe stays up throughout"
	pipes_head
}
injected_garbage_body() {
	pipes_init
	start_both
	topo_ping "${P}a" 198.19.0.2 10 ||
	    pipes_fail "198.19.0.2 does not answer site A"
	check_counters b

	before=$(drops_of b)
	n=0
	# too short for a header, around the header and tag, and larger
	# than the underlay (fragmented by IP on the way)
	for size in 1 2 7 15 16 17 31 32 33 40 41 64 100 255 512 1000 \
	    1400 1452 1472 1473 1500 2000; do
		head -c "$size" /dev/urandom > garbage.bin
		send_from_isp garbage.bin ||
		    atf_fail "nc cannot send $size bytes from ISP 1"
		n=$((n + 1))
	done
	# a version and a type that look right, a receiver id made up
	for type in 001 002; do
		head -c 100 /dev/urandom > garbage.bin
		bytes garbage.bin 0 001 "$type" 000 000
		send_from_isp garbage.bin ||
		    atf_fail "nc cannot send from ISP 1"
		n=$((n + 1))
	done
	counted() {
		[ "$(drops_of b)" -ge $((before + n)) ]
	}
	topo_wait 5 counted ||
	    pipes_fail "site B counted $(($(drops_of b) - before)) drops" \
	    "for $n datagrams of garbage"
	echo "site B: $(($(drops_of b) - before)) drops for $n datagrams" >&2
	pipe_up b || pipes_fail "site B's pipe is \"$(pipe_state b)\""
	topo_ping "${P}a" 198.19.0.2 5 ||
	    pipes_fail "198.19.0.2 no longer answers after the garbage"

	# every datagram to site B delivered twice: the copies are
	# replays, none reaches the segment
	replay=$(drop_of b replay)
	isp_dup "$P" 1 b "$PORT" || atf_fail "ISP 1 cannot duplicate"
	ip netns exec "${P}a" ping -n -c 5 -i 0.2 -W 2 198.19.0.2 \
	    > dup.out 2>&1
	rc=$?
	isp_nodup "$P" 1 || atf_fail "ISP 1 does not stop duplicating"
	[ "$rc" -eq 0 ] || pipes_fail "pings lost while ISP 1 duplicates:" \
	    "$(cat dup.out)"
	if grep -q 'DUP!' dup.out; then
		pipes_fail "duplicated datagrams reached site B's segment:" \
		    "$(cat dup.out)"
	fi
	replayed() {
		[ "$(drop_of b replay)" -ge $((replay + 5)) ]
	}
	topo_wait 3 replayed ||
	    pipes_fail "site B counted $(($(drop_of b replay) - replay))" \
	    "replays for at least 5 datagrams sent twice"
	pipe_up b || pipes_fail "site B's pipe is \"$(pipe_state b)\""
	topo_ping "${P}a" 198.19.0.2 5 ||
	    pipes_fail "198.19.0.2 no longer answers after the replays"
	check_alive
}
injected_garbage_cleanup() {
	pipes_cleanup
}

atf_test_case forged_datagrams cleanup
forged_datagrams_head() {
	atf_set descr "A real datagram caught on the way and sent again," \
	    "altered in each field of its header, is dropped for the" \
	    "reason of that field; a forged counter far ahead does not" \
	    "move the replay window"
	pipes_head 120 tcpdump od dd truncate
}
forged_datagrams_body() {
	pipes_init
	start_both
	topo_ping "${P}a" 198.19.0.2 10 ||
	    pipes_fail "198.19.0.2 does not answer site A"
	check_counters b

	# one datagram from site A to site B, caught by ISP 1
	ip netns exec "${P}isp1" timeout 20 tcpdump -Z root -i siteb -n -U \
	    -c 1 -w caught.pcap "udp and dst host $B_UPLINK and dst port $PORT" \
	    > tcpdump.out 2>&1 &
	record_helper $! timeout
	catcher=$!
	capturing() {
		grep -q 'listening on' tcpdump.out
	}
	topo_wait 10 capturing || pipes_fail "tcpdump does not start:" \
	    "$(cat tcpdump.out)"
	topo_ping "${P}a" 198.19.0.2 3 ||
	    pipes_fail "198.19.0.2 does not answer site A"
	topo_wait 10 eval "! topo_alive $catcher" ||
	    pipes_fail "tcpdump caught nothing: $(cat tcpdump.out)"

	# pcap: 24-byte file header, 16-byte record header whose third
	# word is the length caught; then Ethernet (14), IPv4 (20, no
	# options on this path) and UDP (8)
	caplen=$(od -An -t u4 -j 32 -N 4 caught.pcap | tr -d ' ')
	ihl=$(od -An -t u1 -j 54 -N 1 caught.pcap | tr -d ' ')
	[ "$ihl" = 69 ] || atf_fail "not an IPv4 header without options"
	len=$((caplen - 42))
	[ "$len" -ge 32 ] || pipes_fail "caught a datagram of $len bytes"
	dd if=caught.pcap of=dg.bin bs=1 skip=82 count="$len" 2>/dev/null
	echo "caught a datagram of $len bytes:" \
	    "$(od -An -t x1 -N 16 dg.bin)" >&2

	# the reasons in the order they are checked (doc/wire.md), each
	# with a copy of the datagram that only that check rejects
	cp dg.bin short.bin
	truncate -s 31 short.bin
	cp dg.bin version.bin
	bytes version.bin 0 002
	cp dg.bin type.bin
	bytes type.bin 1 007
	cp dg.bin rxid.bin
	rx=$(od -An -t u1 -j 4 -N 1 dg.bin | tr -d ' ')
	bytes rxid.bin 4 "$(printf '%03o' $((rx ^ 255)))"
	cp dg.bin keyid.bin
	kid=$(od -An -t u1 -j 2 -N 1 dg.bin | tr -d ' ')
	bytes keyid.bin 2 "$(printf '%03o' $((kid ^ 128)))"
	# a counter 2^40 ahead: the replay check lets it through, the
	# tag does not (the header is the additional data)
	cp dg.bin counter.bin
	bytes counter.bin 10 "$(printf '%03o' \
	    $(($(od -An -t u1 -j 10 -N 1 dg.bin | tr -d ' ') ^ 1)))"
	cp dg.bin replay.bin

	for r in short badtype nosession stalekey auth replay; do
		eval "before_$r=$(drop_of b "$r")"
	done
	for f in short version type rxid keyid counter replay; do
		send_from_isp "$f.bin" ||
		    atf_fail "nc cannot send $f.bin from ISP 1"
	done
	expect() {
		eval "_b=\$before_$1"
		[ "$(drop_of b "$1")" -ge $((_b + $2)) ]
	}
	all_counted() {
		expect short 1 && expect badtype 2 && expect nosession 1 &&
		    expect stalekey 1 && expect auth 1 && expect replay 1
	}
	if ! topo_wait 5 all_counted; then
		got=""
		for r in short badtype nosession stalekey auth replay; do
			eval "_b=\$before_$r"
			got="$got $r +$(($(drop_of b "$r") - _b))"
		done
		pipes_fail "site B's drops by reason:$got; expected short +1," \
		    "badtype +2, nosession +1, stalekey +1, auth +1, replay +1"
	fi

	# the forged counter must not have moved the window: what site A
	# sends next, with counters far below it, still gets through
	pipe_up b || pipes_fail "site B's pipe is \"$(pipe_state b)\""
	replay=$(drop_of b replay)
	topo_ping "${P}a" 198.19.0.2 5 ||
	    pipes_fail "198.19.0.2 no longer answers after the forgeries"
	[ "$(drop_of b replay)" -eq "$replay" ] ||
	    pipes_fail "site B drops site A's datagrams as replays since" \
	    "the forged counter"
	check_alive
}
forged_datagrams_cleanup() {
	pipes_cleanup
}

atf_test_case nat_passive cleanup
nat_passive_head() {
	atf_set descr "Site B behind a NAT connects to a passive site A," \
	    "which learns B's address as the NAT shows it; traffic" \
	    "crosses both ways"
	pipes_head
}
nat_passive_body() {
	pipes_init
	make_sites
	isp_nat "$P" 1 b || atf_fail "ISP 1 cannot masquerade site B"
	# site A cannot reach site B any more, only answer it
	topo_noping "${P}a" "$B_UPLINK" 2 ||
	    atf_fail "site A still reaches site B's uplink through the NAT"
	write_conf a "$FPR_B" -
	write_conf b "$FPR_A"
	start_site a
	start_site b
	wait_up

	topo_ping "${P}b" 198.19.0.1 10 ||
	    pipes_fail "198.19.0.1 does not answer site B"
	topo_ping "${P}a" 198.19.0.2 10 ||
	    pipes_fail "198.19.0.2 does not answer site A"
	ping6_answers "${P}a" 2001:db8:19::2 20 ||
	    pipes_fail "2001:db8:19::2 does not answer site A"

	n=$(isp_nat_packets "$P" 1)
	[ "$n" -gt 0 ] || pipes_fail "ISP 1 masqueraded nothing"
	# what site A sees of site B: ISP 1's address, not B's own
	learned=$(jfield a .learned)
	case "$learned" in
	198.18.1.1:*)	;;
	*)	pipes_fail "site A learned \"$learned\" as site B's" \
		    "address, not ISP 1's 198.18.1.1" ;;
	esac
	[ "$(jfield a .remote)" = "" ] ||
	    pipes_fail "site A's pipe has a remote: $(jfield a .remote)"
	[ "$(jfield a .initiator)" = false ] ||
	    pipes_fail "site A's passive pipe opened the session"
	check_alive
}
nat_passive_cleanup() {
	pipes_cleanup
}

atf_test_case send_errors cleanup
send_errors_head() {
	atf_set descr "datagrams the kernel refuses to send (no route to" \
	    "the peer) are counted per pipe as drop.send and logged as a" \
	    "warning at most once in 10 s; the pipe recovers with the route"
	pipes_head
}
send_errors_body() {
	pipes_init
	start_both
	n0=$(drop_of a send)
	[ "$n0" -eq 0 ] ||
	    pipes_fail "site A counts $n0 send errors before any"

	# every datagram to site B now fails with EHOSTUNREACH at once
	ip -n "${P}a" route add unreachable "$B_UPLINK/32" ||
	    atf_fail "cannot add the unreachable route at site A"
	# probes leave every 25 ms: dozens in 5 s, whatever the load
	sleep 5
	n=$(drop_of a send)
	w=$(grep -c 'uplink isp1: cannot send to ' a.log)
	echo "5 s without a route: drop.send $n, warnings $w:" \
	    "$(grep -m 1 'uplink isp1: cannot send to ' a.log)"
	[ "$n" -ge 10 ] ||
	    pipes_fail "site A counts $n send errors in 5 s without a route"
	[ "$(drops_of a)" -ge "$n" ] ||
	    pipes_fail "the send errors ($n) are not in drops ($(drops_of a))"
	[ "$w" -ge 1 ] ||
	    pipes_fail "no warning about the datagrams that were not sent"
	[ "$w" -le 1 ] ||
	    pipes_fail "$w warnings in 5 s, not at most one in 10 s:" \
	    "$(grep 'cannot send to ' a.log)"
	ctl a show pipes detail | grep -q '^  send: *[1-9]' ||
	    pipes_fail "show pipes detail has no send errors:" \
	    "$(ctl a show pipes detail 2>&1)"

	ip -n "${P}a" route del unreachable "$B_UPLINK/32" ||
	    atf_fail "cannot remove the unreachable route"
	topo_wait 70 both_up ||
	    pipes_fail "the pipe is not back up within 70 s of the route"
	check_alive
}
send_errors_cleanup() {
	pipes_cleanup
}

atf_test_case unbound_uplink_v4 cleanup
unbound_uplink_v4_head() {
	atf_set descr "an uplink without a local address (one IPv6 socket" \
	    "for both families) reaches an IPv4 peer, and what comes back" \
	    "from it is known as the configured IPv4 address, not as a" \
	    "v4-mapped IPv6 one"
	pipes_head
}
unbound_uplink_v4_body() {
	pipes_init
	make_sites
	write_conf a "$FPR_B"
	sed 's/^uplink isp1 { local [^ ]* }$/uplink isp1/' a.conf \
	    > a.conf.new && mv a.conf.new a.conf && chmod 0600 a.conf ||
	    atf_fail "cannot edit a.conf"
	grep -q '^uplink isp1$' a.conf || atf_fail "a.conf has a local address"
	write_conf b "$FPR_A"
	start_site a
	start_site b
	wait_up
	grep -q 'data on :: port ' a.log ||
	    pipes_fail "site A's uplink isp1 has no IPv6 socket for both" \
	    "families: $(grep 'data on ' a.log)"

	topo_ping "${P}a" 198.19.0.2 10 ||
	    pipes_fail "198.19.0.2 does not answer site A"
	topo_ping "${P}b" 198.19.0.1 10 ||
	    pipes_fail "198.19.0.1 does not answer site B"
	# nothing learned: the data come from where they were sent
	learned=$(jfield a .learned)
	[ -z "$learned" ] || [ "$learned" = "$B_UPLINK:$PORT" ] ||
	    pipes_fail "site A learned \"$learned\" for site B, not" \
	    "$B_UPLINK:$PORT"
	! grep 'data now from' a.log ||
	    pipes_fail "site A took site B for a peer that moved"
	check_alive
}
unbound_uplink_v4_cleanup() {
	pipes_cleanup
}

# udp_datagrams NS: the UDP datagrams (IPv4) the namespace received and
# sent, from /proc/net/snmp, as "IN OUT"
udp_datagrams() {
	ip netns exec "$1" cat /proc/net/snmp | awk '
	    $1 == "Udp:" && $2 ~ /^[0-9]/ { print $2, $5; exit }'
}

# probe_rate SECONDS: site A's UDP datagrams, in and out together, per
# probe interval (25 ms) over SECONDS of rest; the pipe must stay up,
# its RTT under 10 ms (a hold counted in it would make it near 25 ms
# at one site at least: an interval, less the round trip), no loss
probe_rate() {
	_before=$(udp_datagrams "${P}a")
	sleep "$1"
	_after=$(udp_datagrams "${P}a")
	[ -n "$_before" ] && [ -n "$_after" ] ||
	    pipes_fail "no UDP counters in ${P}a"
	# shellcheck disable=SC2086 # two numbers each
	set -- "$1" $_before $_after
	RATE=$(awk -v s="$1" -v i0="$2" -v o0="$3" -v i1="$4" -v o1="$5" \
	    'BEGIN { printf "%.2f", (i1 - i0 + o1 - o0) / (s * 40) }')
	echo "site A: $(($4 - $2)) in, $(($5 - $3)) out in $1 s:" \
	    "$RATE per interval"
	for _s in a b; do
		pipe_up "$_s" || pipes_fail "the pipe of site $_s is" \
		    "$(pipe_state "$_s") at rest"
		_rtt=$(jfield "$_s" .rtt_us)
		_loss=$(jfield "$_s" .loss_ppm)
		echo "site $_s: rtt $_rtt us, loss $_loss ppm," \
		    "suspects $(jfield "$_s" .suspects)"
		[ -n "$_rtt" ] && [ "$_rtt" -lt 10000 ] ||
		    pipes_fail "site $_s measures an RTT of $_rtt us"
		[ "${_loss:-1}" -eq 0 ] ||
		    pipes_fail "site $_s measures a loss of $_loss ppm"
	done
}

atf_test_case probe_echo cleanup
probe_echo_head() {
	atf_set descr "At rest, two sites of this version exchange one" \
	    "datagram each way per probe interval (probes with echo)," \
	    "and the RTT does not include the time an echo is held"
	pipes_head 120 awk
}
probe_echo_body() {
	pipes_init
	start_both
	# the frames a new interface sends (IPv6) go by first
	sleep 3
	probe_rate 4
	awk -v r="$RATE" 'BEGIN { exit !(r >= 1.5 && r <= 2.6) }' ||
	    pipes_fail "$RATE datagrams per interval at rest, not about 2"
	check_alive
}
probe_echo_cleanup() {
	pipes_cleanup
}

atf_test_case probe_echo_old_peer cleanup
probe_echo_old_peer_head() {
	atf_set descr "A site that does not announce probes with echo (a" \
	    "test build with it off) gets probes and replies: two" \
	    "datagrams each way per interval, and the pipe is up"
	pipes_head 120 awk
}
probe_echo_old_peer_body() {
	pipes_init
	[ -x "$SRCDIR/marconid-test" ] ||
	    atf_fail "$SRCDIR/marconid-test is not built"
	make_sites
	write_conf a "$FPR_B"
	write_conf b "$FPR_A"
	start_site a
	_marconid=$MARCONID
	MARCONID=$SRCDIR/marconid-test
	export MARCONID_TEST_NO_PROBE_ECHO=1
	start_site b
	unset MARCONID_TEST_NO_PROBE_ECHO
	MARCONID=$_marconid
	wait_up
	sleep 3
	probe_rate 4
	awk -v r="$RATE" 'BEGIN { exit !(r >= 3.4 && r <= 4.6) }' ||
	    pipes_fail "$RATE datagrams per interval at rest, not about 4"
	check_alive
}
probe_echo_old_peer_cleanup() {
	pipes_cleanup
}

atf_init_test_cases() {
	atf_add_test_case ping_v4_v6
	atf_add_test_case full_mtu_df
	atf_add_test_case narrow_path
	atf_add_test_case rekey_no_loss
	atf_add_test_case tcp_50mb
	atf_add_test_case wrong_fingerprint
	atf_add_test_case injected_garbage
	atf_add_test_case forged_datagrams
	atf_add_test_case nat_passive
	atf_add_test_case send_errors
	atf_add_test_case unbound_uplink_v4
	atf_add_test_case probe_echo
	atf_add_test_case probe_echo_old_peer
}
