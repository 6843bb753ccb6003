#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # functions run by topo_wait
#
# End-to-end tests of balance mode: site A and site B of the two-site
# topology (topology.sh), each with two uplinks, the ISPs' links towards
# site B shaped with tbf.  The cases measure, in the same run, one TCP
# stream in failover mode (one link) and in balance mode (both links,
# switched with marconictl at run time); that the frames reach site B
# in order when the two paths differ in delay (the inner TCP
# retransmits little, and site B's reorder buffer held frames); and
# that a cut of one ISP during a stream costs no more than in failover
# mode, with every byte of the stream checked (xfer.c).
#
# Timing figures on a shared machine are noisy: the bounds are
# generous, the bench (bench/run, BENCH_FIGURES=balance) has the real
# figures.  Every test case records the PIDs of what it starts; its
# cleanup ends those, by PID only, and removes the namespaces.  Every
# loop is bounded in count and in time.

# ---------------------------------------------------------------------
# helpers

bl_init() {
	SRCDIR=$(cd "$(atf_get_srcdir)" && pwd)
	TOP=$(cd "$SRCDIR/../.." && pwd)
	MARCONID=$TOP/marconid/marconid
	MARCONICTL=$TOP/marconictl/marconictl
	XFER=$SRCDIR/xfer
	# shellcheck source=topology.sh
	. "$SRCDIR/topology.sh"
	# shellcheck source=common.sh
	. "$SRCDIR/common.sh"
	# shellcheck source=wan.sh
	. "$SRCDIR/wan.sh"
	if [ -s prefix ]; then
		P=$(cat prefix)
	else
		P=mb$$
		echo "$P" > prefix
	fi
	B_TAP=198.19.0.2
}

bl_head() {
	atf_set require.user root
	atf_set timeout "${1:-90}"
	atf_set require.progs "ip nft tc openssl ping ps jq awk iperf3"
}

bl_fail() {
	for s in a b; do
		if [ -S "$s.sock" ]; then
			echo "--- site $s: show pipes, show peers" >&2
			ctl "$s" show pipes >&2 2>&1
			ctl "$s" show peers >&2 2>&1
		fi
		if [ -s "$s.log" ]; then
			echo "--- site $s: the last lines of its log" >&2
			tail -n 30 "$s.log" >&2
		fi
	done
	atf_fail "$(echo "$*" | tr -s '\n\t' '  ' | cut -c 1-400)"
}

ctl_ok() {
	_s=$1
	shift
	ctl "$_s" "$@" > ctl.out 2>&1 ||
	    bl_fail "marconictl $* at site $_s failed: $(cat ctl.out)"
}

# jpeer SITE FILTER: of its one peer
jpeer() {
	ctl "$1" -j show peers 2>/dev/null | jq -r ".peers[0] | $2" \
	    2>/dev/null | sed 's/^null$//'
}

all_up() {
	for _s in a b; do
		for _u in isp1 isp2; do
			[ "$(jpipe "$_s" "$_u" .state)" = up ] || return 1
		done
	done
	return 0
}

bl_cleanup() {
	bl_init
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
	# shellcheck disable=SC2086 # lists of PIDs
	signal_ours TERM $parents
	# shellcheck disable=SC2086
	if ! topo_wait 5 none_ours $pids; then
		# shellcheck disable=SC2086
		signal_ours KILL $pids
		# shellcheck disable=SC2086
		topo_wait 2 none_ours $pids
	fi
	if [ -f helpers.pids ]; then
		while read -r pid prog; do
			is_prog "$pid" "$prog" && kill -KILL "$pid" 2>/dev/null
		done < helpers.pids
	fi
	for i in 1 2; do
		wan_clear "$P" "$i" 2>/dev/null
	done
	topo_destroy "$P"
}

start_site() {
	ip netns exec "$P$1" "$MARCONID" -dv -f "$PWD/$1.conf" \
	    -s "$PWD/$1.sock" > "$1.log" 2>&1 &
	echo $! > "$1.pid"
	topo_wait 15 ctl_answers_or_dead "$1" || true
	topo_alive "$(cat "$1.pid")" ||
	    bl_fail "marconid of site $1 exited at startup"
	ctl_answers "$1" ||
	    bl_fail "no answer on site $1's control socket in 15 s"
	ps -o pid= --ppid "$(cat "$1.pid")" >> children.pids 2>/dev/null
}

# start_sites MODE [GLOBAL-OPTION [ISP2-PROFILE]]: both sites in MODE,
# ISP 2 emulating the profile (wan.sh) from the start if one is given,
# all four pipes up and site B answering across the segment
start_sites() {
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	id -u _marconid >/dev/null 2>&1 ||
	    atf_fail "user _marconid is missing (scripts/add-user)"
	topo_create "$P" || atf_fail "cannot build the topology"
	for n in site-a site-b; do
		site_identity "$PWD" "$n" ||
		    atf_fail "cannot make the identity of $n"
	done
	FPR_A=$(site_fingerprint site-a.crt) || atf_fail "no fingerprint"
	FPR_B=$(site_fingerprint site-b.crt) || atf_fail "no fingerprint"
	site_conf a "$PWD/a.conf" "$PWD/site-a.crt" "$PWD/site-a.key" \
	    "$FPR_B" || atf_fail "cannot write a.conf"
	site_conf b "$PWD/b.conf" "$PWD/site-b.crt" "$PWD/site-b.key" \
	    "$FPR_A" || atf_fail "cannot write b.conf"
	for s in a b; do
		site_conf_peer "$s.conf" "mode $1" ||
		    atf_fail "cannot edit $s.conf"
		if [ -n "${2:-}" ]; then
			site_conf_global "$s.conf" "$2" ||
			    atf_fail "cannot edit $s.conf"
		fi
	done
	if [ -n "${3:-}" ]; then
		wan_apply "$P" 2 "$3" ||
		    atf_fail "cannot emulate $3 on ISP 2: $(wan_log "$P" 2)"
	fi
	start_site a
	start_site b
	topo_wait 20 all_up || bl_fail "the four pipes are not up in 20 s"
	topo_ping "${P}a" "$B_TAP" 10 ||
	    bl_fail "$B_TAP does not answer site A"
}

# shape RATE: the ISPs' links towards site B at RATE, both of them
shape() {
	for i in 1 2; do
		isp_tbf "$P" "$i" b "$1" || atf_fail "cannot shape ISP $i"
	done
}

iperf_server() {
	ip netns exec "${P}b" iperf3 -s -p 5201 > iperf-server.log 2>&1 &
	record_helper $! iperf3
	_listens() {
		ip netns exec "${P}b" ss -ltn 2>/dev/null | grep -q ':5201 '
	}
	topo_wait 5 _listens || bl_fail "iperf3 does not listen at site B"
}

# iperf NAME SECONDS [STREAMS]: A to B; NAME.json, and prints
# "Mbit/s retransmits segments"
iperf() {
	timeout $(($2 + 20)) ip netns exec "${P}a" iperf3 -c "$B_TAP" \
	    -p 5201 -t "$2" -P "${3:-1}" -J --connect-timeout 5000 \
	    > "$1.json" 2> "$1.err"
	jq -r '[.end.sum_received.bits_per_second / 1e6,
	    (.end.sum_sent.retransmits // 0),
	    (.end.sum_sent.bytes / 1400 | floor)] | @tsv' "$1.json" \
	    2>/dev/null | awk '{ printf "%.1f %d %d\n", $1, $2, $3 }'
}

# ---------------------------------------------------------------------
# test cases

atf_test_case throughput cleanup
throughput_head() {
	atf_set descr "balance mode beats one link on 2 x 50 Mbit/s, and" \
	    "marconictl switches to it at run time"
	bl_head 120
}
throughput_body() {
	bl_init
	start_sites failover
	shape 50mbit
	iperf_server
	# shellcheck disable=SC2046
	set -- $(iperf one 8)
	one=${1:-0}
	ctl_ok a peer site-b mode balance
	[ "$(jpeer a .mode)" = balance ] ||
	    bl_fail "site A's peer is not in balance mode after marconictl"
	# shellcheck disable=SC2046
	set -- $(iperf bal 8)
	bal=${1:-0} retr=${2:-0} segs=${3:-1}
	echo "one link (failover): $one Mbit/s; balance: $bal Mbit/s," \
	    "$retr retransmissions of about $segs segments" >&2
	ctl a show pipes >&2
	ctl b show peers >&2
	awk -v o="$one" 'BEGIN { exit !(o > 20) }' ||
	    bl_fail "one link carried only $one Mbit/s: the test bed is" \
	    "not what it should be"
	awk -v o="$one" -v b="$bal" 'BEGIN { exit !(b > 1.3 * o) }' ||
	    bl_fail "balance mode carried $bal Mbit/s, one link $one:" \
	    "wanted more than 1.3 times"
	# both pipes carried a share, measured
	for u in isp1 isp2; do
		sh=$(jpipe a "$u" .share_permille)
		r=$(jpipe a "$u" .rate_est_bps)
		[ "${sh:-0}" -ge 150 ] || bl_fail "site A's pipe over $u has" \
		    "a share of ${sh:-?} permille after the stream"
		[ "${r:-0}" -gt 0 ] || bl_fail "site A's pipe over $u has" \
		    "no measured rate"
	done
	held=$(jpeer b .reorder.held)
	echo "site B reorder buffer: held ${held:-?}," \
	    "late $(jpeer b .reorder.late)," \
	    "given up $(jpeer b .reorder.gaps_given_up)" >&2
}
throughput_cleanup() {
	bl_cleanup
}

atf_test_case order cleanup
order_head() {
	atf_set descr "frames over two paths of different delays reach" \
	    "the far side in order: little inner TCP retransmission"
	bl_head 120
}
order_body() {
	bl_init
	start_sites balance
	isp_tbf "$P" 1 b 30mbit || atf_fail "cannot shape ISP 1"
	# ISP 2 at the same rate, 10 ms longer a round trip
	wan_apply "$P" 2 "5/0/0/1/30mbit/50" ||
	    atf_fail "cannot delay ISP 2: $(wan_log "$P" 2 2>/dev/null)"
	iperf_server
	# shellcheck disable=SC2046
	set -- $(iperf order 8)
	bps=${1:-0} retr=${2:-0} segs=${3:-1}
	held=$(jpeer b .reorder.held)
	gaps=$(jpeer b .reorder.gaps_given_up)
	echo "balance over 5 ms and 10+ ms paths: $bps Mbit/s, $retr" \
	    "retransmissions of about $segs segments; site B held" \
	    "${held:-?} frames, gave up ${gaps:-?} gaps" >&2
	ctl a show pipes >&2
	ctl b show peers >&2
	ctl b -j show peers >&2
	awk -v b="$bps" 'BEGIN { exit !(b > 5) }' ||
	    bl_fail "only $bps Mbit/s in balance mode"
	[ "${held:-0}" -gt 100 ] || bl_fail "site B held ${held:-?}" \
	    "frames: the paths did not reorder, or it did not reorder them"
	# generous: out of order frames would cost far more
	awk -v r="$retr" -v s="$segs" 'BEGIN { exit !(r <= 0.02 * s) }' ||
	    bl_fail "$retr retransmissions of about $segs segments:" \
	    "more than 2 %"
}
order_cleanup() {
	bl_cleanup
}

# ping_rtts: 400 pings from A to B, 20 ms apart (both pipes carry
# them, none waits for another); the RTTs of the last 200 answered, in
# ms, least first, into rtts (the first 200 let the shares and the
# holds settle); n, lo: how many, the least
ping_rtts() {
	ip netns exec "${P}a" ping -n -i 0.02 -c 400 -W 1 "$B_TAP" \
	    > ping.out 2>&1
	awk '/icmp_seq=/ && !/DUP!/ {
		match($0, /time=[0-9.]+/)
		print substr($0, RSTART + 5, RLENGTH - 5)
	    }' ping.out | tail -n 200 | sort -n > rtts
	n=$(wc -l < rtts)
	lo=$(head -n 1 rtts)
}

atf_test_case even_paths cleanup
even_paths_head() {
	atf_set descr "in balance mode a frame takes as long over the" \
	    "shorter pipe as over the longer one: no ping crosses in the" \
	    "shorter pipe's time"
	bl_head 90
}
even_paths_body() {
	bl_init
	# ISP 2 15 ms longer each way, from the start: the least RTTs
	# of the pipes are 30 ms apart from their first probes
	start_sites balance "" "15/0/0/1/-/-"
	ping_rtts
	med=$(sed -n "$(((n + 1) / 2))p" rtts)
	held=$(jpeer b .reorder.held)
	echo "pings answered (of the last 200): $n; RTT least $lo ms," \
	    "median $med ms; site B held ${held:-?} frames" >&2
	ctl a show pipes >&2
	ctl b show peers >&2
	[ "$n" -ge 180 ] || bl_fail "only $n of the last 200 pings answered"
	for u in isp1 isp2; do
		sh=$(jpipe a "$u" .share_permille)
		[ "${sh:-0}" -gt 0 ] || bl_fail "site A's pipe over $u has" \
		    "no share: the pings were not spread"
	done
	[ "${held:-0}" -gt 50 ] || bl_fail "site B held ${held:-?} frames:" \
	    "the frames of the shorter pipe were not held"
	# over ISP 1 alone a ping takes a millisecond or two; held for
	# ISP 2's lead, 30 ms or so
	awk -v l="$lo" 'BEGIN { exit !(l >= 24) }' || bl_fail "a ping" \
	    "took $lo ms: it crossed in the shorter pipe's time"
	awk -v m="$med" 'BEGIN { exit !(m < 60) }' || bl_fail "the median" \
	    "ping took $med ms: held longer than the paths differ"
}
even_paths_cleanup() {
	bl_cleanup
}

atf_test_case one_side cleanup
one_side_head() {
	atf_set descr "the far side holds the frames a site spreads even" \
	    "when it is not in balance mode itself"
	bl_head 90
}
one_side_body() {
	bl_init
	start_sites balance "" "15/0/0/1/-/-"
	# B answers over its active pipe: only A's frames are spread
	ctl_ok b peer site-a mode failover
	ping_rtts
	held=$(jpeer b .reorder.held)
	echo "pings answered (of the last 200): $n; RTT least $lo ms;" \
	    "site B held ${held:-?} frames" >&2
	ctl b show peers >&2
	[ "$n" -ge 180 ] || bl_fail "only $n of the last 200 pings answered"
	[ "${held:-0}" -gt 50 ] || bl_fail "site B held ${held:-?} frames:" \
	    "the frames of the shorter pipe were not held"
	# a request over ISP 1 held for ISP 2's lead, 15 ms or so; the
	# answer over ISP 1
	awk -v l="$lo" 'BEGIN { exit !(l >= 12) }' || bl_fail "a ping" \
	    "took $lo ms: it crossed in the shorter pipe's time"
}
one_side_cleanup() {
	bl_cleanup
}

# cut_run NAME: a checked transfer and pings every 10 ms from A to B,
# ISP 1 cut after 2 s and restored after 6; prints "longest-run-lost
# transfer-ok"
cut_run() {
	_bytes=20000000
	ip netns exec "${P}b" "$XFER" recv -t 40 "$B_TAP" 5002 "$_bytes" \
	    2> "$1-recv.err" > /dev/null &
	_r=$!
	record_helper $_r xfer
	_listening() {
		grep -qs listening "$1-recv.err"
	}
	topo_wait 10 _listening "$1" || bl_fail "xfer does not listen"
	ip netns exec "${P}a" "$XFER" send -r 2500000 -t 40 "$B_TAP" 5002 \
	    "$_bytes" 2> "$1-send.err" &
	record_helper $! xfer
	ip netns exec "${P}a" ping -n -D -i 0.01 -c 800 -W 1 "$B_TAP" \
	    > "$1-ping.out" 2>&1 &
	_p=$!
	record_helper $_p ping
	sleep 2
	isp_cut "$P" 1 || atf_fail "cannot cut ISP 1"
	sleep 4
	isp_restore "$P" 1 || atf_fail "cannot restore ISP 1"
	topo_wait 20 eval "! topo_alive $_p"
	topo_wait 30 eval "! topo_alive $_r"
	wait "$_r"
	_ok=$?
	_run=$(awk '/icmp_seq=/ && !/DUP!/ {
		match($0, /icmp_seq=[0-9]+/)
		s = substr($0, RSTART + 9, RLENGTH - 9) + 0
		if (last != "" && s - last - 1 > best)
			best = s - last - 1
		last = s
	    } END { print best + 0 }' "$1-ping.out")
	echo "$_run $_ok"
}

atf_test_case cut cleanup
cut_head() {
	atf_set descr "a cut of one ISP during a stream loses no more in" \
	    "balance mode than in failover mode, and the stream survives"
	bl_head 150
}
cut_body() {
	bl_init
	start_sites failover "probe interval 100ms timeout 300ms"
	# shellcheck disable=SC2046
	set -- $(cut_run fo)
	fo_run=$1 fo_ok=$2
	topo_wait 20 all_up || bl_fail "the pipes are not all up again"
	for s in a b; do
		ctl_ok "$s" peer "site-$(echo $s | tr ab ba)" mode balance
	done
	# shellcheck disable=SC2046
	set -- $(cut_run bal)
	bal_run=$1 bal_ok=$2
	echo "longest run of pings lost: failover $fo_run, balance" \
	    "$bal_run (10 ms each); transfer exit: failover $fo_ok," \
	    "balance $bal_ok" >&2
	tail -n 2 bal-send.err bal-recv.err >&2
	ctl b show peers >&2
	[ "$fo_ok" -eq 0 ] || bl_fail "the transfer failed in failover mode"
	[ "$bal_ok" -eq 0 ] || bl_fail "the transfer failed in balance" \
	    "mode: $(tail -n 2 bal-recv.err)"
	# the same detection: a generous margin for a busy machine
	[ "$bal_run" -le $((fo_run + 20)) ] || bl_fail "balance mode lost" \
	    "$bal_run pings in a row at the cut, failover mode $fo_run"
	[ "$bal_run" -lt 100 ] || bl_fail "balance mode lost $bal_run" \
	    "pings in a row at the cut (1 s or more)"
}
cut_cleanup() {
	bl_cleanup
}

atf_init_test_cases() {
	atf_add_test_case throughput
	atf_add_test_case order
	atf_add_test_case even_paths
	atf_add_test_case one_side
	atf_add_test_case cut
}
