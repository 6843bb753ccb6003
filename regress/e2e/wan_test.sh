#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2046 # set -- $(ping_stats ...): one word a figure
#
# The WAN emulator proved before it is trusted: the two-site topology
# (topology.sh) without marconid, profiles from wan.sh on ISP 1, and
# what crosses it from site A to site B's uplink isp1 measured with ping
# and iperf3 against what the profile asked for.
#
# The tolerances are for a busy two-core machine, wide on the slow side
# (a late wake-up only adds delay) and narrow where a broken emulator
# would show: veth alone answers in well under 1 ms, so any profile's
# RTT floor is the emulator's doing; a profile without loss must lose
# nothing; a bursty profile must show bursts, and one without must not.
# The jitter is the standard deviation of the RTTs once the slowest 2 %
# are set aside (scheduling stalls of the host, not the profile's): for
# the uniform one-way jitter J of wan.sh it is J x sqrt(2/3), a little
# less after the trim.  WAN_SEED is fixed, so a run loses the same
# packets as the last one did.
#
# Each cleanup ends wanem by the PID wan.sh recorded and removes the
# namespaces, whatever the body did.  Every loop is bounded.

# ---------------------------------------------------------------------
# helpers

wt_init() {
	SRCDIR=$(cd "$(atf_get_srcdir)" && pwd)
	TOP=$(cd "$SRCDIR/../.." && pwd)
	WANEM=$TOP/regress/wanem/wanem
	WAN_STATEDIR=$PWD
	WAN_SEED=${WAN_SEED:-7455}
	export WANEM WAN_STATEDIR WAN_SEED
	# shellcheck source=topology.sh
	. "$SRCDIR/topology.sh"
	# shellcheck source=wan.sh
	. "$SRCDIR/wan.sh"
	if [ -s prefix ]; then
		P=$(cat prefix)
	else
		P=mwt$$
		echo "$P" > prefix
	fi
	# site B's uplink isp1, reached from site A through ISP 1
	B=198.18.11.2
}

wt_head() {
	atf_set require.user root
	atf_set timeout "${1:-120}"
	atf_set require.progs "ip iptables ip6tables tc ping iperf3 jq awk sort"
}

wt_setup() {
	wt_init
	[ -x "$WANEM" ] || atf_skip "regress/wanem/wanem is not built" \
	    "(no libnetfilter_queue?)"
	topo_create "$P" || atf_fail "cannot build the topology"
	topo_ping "${P}a" "$B" || atf_fail "site B does not answer at all"
}

wt_cleanup() {
	wt_init
	wan_clear "$P" 1
	wan_clear "$P" 2
	if [ -s iperf3.pid ]; then
		kill "$(cat iperf3.pid)" 2>/dev/null
	fi
	topo_destroy "$P"
}

wt_fail() {
	_f=$(wan_log "$P" 1)
	[ -s "$_f" ] && tail -n 5 "$_f" >&2
	atf_fail "$*"
}

# pings NAME COUNT INTERVAL [PRELOAD]: COUNT echo requests from site A
# to B, INTERVAL seconds apart, the replies in NAME.out.  ping keeps
# only a dozen unanswered unless PRELOAD says more (it sends that many
# at once first): 1 ms apart over 70 ms of RTT needs it.
pings() {
	ip netns exec "${P}a" ping -n -c "$2" -i "$3" -l "${4:-1}" -W 3 \
	    "$B" > "$1.out" 2>&1
	return 0
}

# ping_stats NAME COUNT: prints "median jitter loss% meanburst
# inversions" of NAME.out: the median RTT and the trimmed standard
# deviation in ms, the share of requests never answered, the mean
# length of a run of unanswered ones, and how many replies came after
# one with a higher sequence number.
ping_stats() {
	sed -n '/DUP!/d; s/.*icmp_seq=\([0-9]*\) .*time=\([0-9.]*\) ms.*/\1 \2/p' \
	    "$1.out" > "$1.rx"
	_rtt=$(sort -n -k 2 "$1.rx" | awk '
	    { t[NR] = $2 }
	    END {
		if (NR == 0) { print "- -"; exit }
		m = t[int((NR + 1) / 2)]
		k = NR - int(NR * 0.02)
		for (i = 1; i <= k; i++) { s += t[i]; ss += t[i] * t[i] }
		v = ss / k - (s / k) * (s / k)
		printf "%.3f %.3f\n", m, sqrt(v > 0 ? v : 0)
	    }')
	_loss=$(awk -v n="$2" '
	    { if ($1 < max) inv++; else max = $1; rx[$1] = 1 }
	    END {
		for (i = 1; i <= n; i++) {
			if (!(i in rx)) { run++; lost++; continue }
			if (run > 0) { bursts++; run = 0 }
		}
		if (run > 0) bursts++
		printf "%.3f %.2f %d\n", lost * 100 / n,
		    (bursts > 0 ? lost / bursts : 0), inv
	    }' "$1.rx")
	echo "$_rtt $_loss" > "$1.stats"
	echo "$1: median jitter loss% burst inversions: $_rtt $_loss" >&2
	cat "$1.stats"
}

# within VALUE LOW HIGH: true when LOW <= VALUE <= HIGH
within() {
	awk -v v="$1" -v l="$2" -v h="$3" \
	    'BEGIN { exit !(v ~ /^[0-9.]+$/ && v + 0 >= l && v + 0 <= h) }'
}

# check NAME WHAT VALUE LOW HIGH
check() {
	if within "$3" "$4" "$5"; then
		echo "$1: $2 $3 within [$4, $5]" >&2
	else
		wt_fail "$1: $2 is $3, not within [$4, $5]"
	fi
}

# udp_rate NAME OFFERED SECONDS: iperf3 UDP from site A to B; what
# reached B, in Mbit/s of UDP payload, in NAME.rate.  tbf counts the
# Ethernet frame: 1200 bytes of payload are 1242 on the wire.
udp_rate() {
	if [ -s iperf3.pid ]; then
		# the last server (-1) ends once its test is over
		topo_wait 5 eval "! topo_alive $(cat iperf3.pid)"
		rm -f iperf3.pid
	fi
	ip netns exec "${P}b" iperf3 -s -1 -J -D -B "$B" \
	    -I "$PWD/iperf3.pid" ||
	    wt_fail "iperf3 server did not start"
	topo_wait 5 test -s iperf3.pid
	ip netns exec "${P}a" iperf3 -c "$B" -u -b "$2" -l 1200 -t "$3" -J \
	    --get-server-output > "$1.json" 2>&1 ||
	    wt_fail "iperf3 failed: $(head -c 300 "$1.json")"
	# the receiver's figure: over the time it took to drain the queue
	jq -r '.server_output_json.end.sum_received.bits_per_second / 1e6' \
	    "$1.json" > "$1.rate"
}

# ---------------------------------------------------------------------
# fibre: the RTT floor is the emulator's, and no loss

atf_test_case fibre cleanup
fibre_head() {
	atf_set descr "fibre: RTT 10 ms (veth alone: under 2), tight" \
	    "jitter, nothing lost over 1000 pings"
	wt_head 120
}
fibre_body() {
	wt_setup
	pings raw 100 0.01
	set -- $(ping_stats raw 100)
	check raw "median RTT without wanem" "$1" 0 2

	wan_apply "$P" 1 fibre || wt_fail "wan_apply fibre"
	pings fibre 1000 0.005
	set -- $(ping_stats fibre 1000)
	# expected 10.0 ms, 0.16 ms, 0 %, in order; the jitter bound is
	# loose for a busy machine (0.94 ms was seen), below cable's 1.6
	check fibre "median RTT" "$1" 10 11.5
	check fibre "jitter" "$2" 0 1.5
	check fibre "loss %" "$3" 0 0
	check fibre "inversions" "$5" 0 0
	min=$(sort -n -k 2 fibre.rx | awk 'NR == 1 { print $2 }')
	# two one-way delays of at least 4.8 ms each
	check fibre "minimum RTT" "$min" 9.5 11.5
}
fibre_cleanup() {
	wt_cleanup
}

# ---------------------------------------------------------------------
# cable and lte: RTT and jitter

atf_test_case jitter cleanup
jitter_head() {
	atf_set descr "cable and lte: median RTT and jitter as asked"
	wt_head 120
}
jitter_body() {
	wt_setup
	wan_apply "$P" 1 cable || wt_fail "wan_apply cable"
	pings cable 300 0.01
	set -- $(ping_stats cable 300)
	# a stall of the host longer than the 2 % set aside spreads the
	# RTTs on the slow side only (3.2 ms was seen once in make check,
	# within bounds alone): measured again once when above the bound,
	# where an emulator that doubled the jitter (3.3 ms) stays
	if ! within "$2" 0 2.6; then
		echo "cable: jitter $2 above 2.6, measured again" >&2
		pings cable 300 0.01
		set -- $(ping_stats cable 300)
	fi
	# expected 24 ms, 1.63 ms (2 x sqrt(2/3)), 0.2 %
	check cable "median RTT" "$1" 23 26.5
	check cable "jitter" "$2" 1.0 2.6
	check cable "loss %" "$3" 0 2

	# 50 ms apart: more than the 24 ms spread of one direction, so
	# that keeping order does not squeeze the jitter
	wan_apply "$P" 1 lte || wt_fail "wan_apply lte"
	pings lte 150 0.05
	set -- $(ping_stats lte 150)
	# expected 70 ms, 9.8 ms (12 x sqrt(2/3))
	check lte "median RTT" "$1" 66 76
	check lte "jitter" "$2" 7 13
}
jitter_cleanup() {
	wt_cleanup
}

# ---------------------------------------------------------------------
# loss: uniform and in bursts, and the order kept

atf_test_case loss cleanup
loss_head() {
	atf_set descr "lte: 1 % one way in bursts of 3 (2 % of pings lost," \
	    "runs over 1.8 long, replies in order); 2 % uniform: runs" \
	    "under 1.3 long"
	wt_head 180
}
loss_body() {
	wt_setup
	wan_apply "$P" 1 lte || wt_fail "wan_apply lte"
	pings lte 10000 0.001 100
	set -- $(ping_stats lte 10000)
	# expected 1.99 %, runs of about 3, no inversion
	check lte "loss %" "$3" 1.0 3.5
	check lte "mean burst" "$4" 1.8 6
	check lte "inversions" "$5" 0 0

	# the same loss with no bursts: the runs are the model's
	wan_apply "$P" 1 "0/0/2/1/-/-" || wt_fail "wan_apply uniform"
	pings uniform 5000 0.001 100
	set -- $(ping_stats uniform 5000)
	# expected 3.96 %, runs of 1.04
	check uniform "loss %" "$3" 2.8 5.2
	check uniform "mean burst" "$4" 1 1.3
}
loss_cleanup() {
	wt_cleanup
}

atf_test_case reorder cleanup
reorder_head() {
	atf_set descr "lte with WAN_OPTS=reorder: replies out of order, which" \
	    "the loss case shows the default never lets happen"
	wt_head 60
}
reorder_body() {
	wt_setup
	WAN_OPTS=reorder
	wan_apply "$P" 1 "35/12/0/1/-/-" || wt_fail "wan_apply reorder"
	unset WAN_OPTS
	pings reorder 1000 0.001 100
	set -- $(ping_stats reorder 1000)
	check reorder "loss %" "$3" 0 0
	check reorder "inversions" "$5" 50 1000
}
reorder_cleanup() {
	wt_cleanup
}

# ---------------------------------------------------------------------
# rate and buffer depth (tbf), per direction

atf_test_case rate cleanup
rate_head() {
	atf_set descr "dsl: 20 Mbit/s reach site B of 30 offered; the queue" \
	    "under load adds about 50 ms, dsl-deep about 400"
	wt_head 120
}
rate_body() {
	wt_setup
	for prof in dsl dsl-deep; do
		wan_apply "$P" 1 "$prof" || wt_fail "wan_apply $prof"
		# pings through the full queue, after it has filled
		( sleep 2; pings "$prof-load" 20 0.1 ) &
		pinger=$!
		udp_rate "$prof" 30M 5
		wait "$pinger"
		rate=$(cat "$prof.rate")
		# expected 19.29 Mbit/s (20 x 1200 / 1242, less 0.2 %)
		check "$prof" "rate Mbit/s" "$rate" 18 20.2
		set -- $(ping_stats "$prof-load" 20)
		# expected 40 ms and 40 + 50 or 40 + 400 of queue
		case "$prof" in
		dsl)	check "$prof" "median RTT under load" "$1" 60 130 ;;
		*)	check "$prof" "median RTT under load" "$1" 290 480 ;;
		esac
	done
	# with fibre, which has no rate, the same offer gets through
	wan_apply "$P" 1 fibre || wt_fail "wan_apply fibre"
	udp_rate fibre 30M 3
	rate=$(cat fibre.rate)
	check fibre "rate Mbit/s" "$rate" 27 31
}
rate_cleanup() {
	wt_cleanup
}

atf_test_case direction cleanup
direction_head() {
	atf_set descr "sat from A to B, fibre back: RTT 305 ms, tbf only" \
	    "towards B"
	wt_head 60
}
direction_body() {
	wt_setup
	wan_apply "$P" 1 sat ab || wt_fail "wan_apply sat ab"
	wan_apply "$P" 1 fibre ba || wt_fail "wan_apply fibre ba"
	pings dir 50 0.05
	set -- $(ping_stats dir 50)
	# expected 305 ms
	check direction "median RTT" "$1" 300 315
	ip netns exec "${P}isp1" tc qdisc show dev siteb | grep -q tbf ||
	    wt_fail "no tbf towards site B"
	! ip netns exec "${P}isp1" tc qdisc show dev sitea | grep -q tbf ||
	    wt_fail "a tbf towards site A, which fibre does not ask for"
}
direction_cleanup() {
	wt_cleanup
}

# ---------------------------------------------------------------------
# fail-open, and a clean exit

atf_test_case failopen cleanup
failopen_head() {
	atf_set descr "a killed wanem leaves the link forwarding; one ended" \
	    "with TERM gives back what it held and says so"
	wt_head 60
}
failopen_body() {
	wt_setup
	# TERM while it holds packets: 300 ms one way, requests sent
	# over 200 ms, TERM 100 ms after the last: none is lost
	wan_apply "$P" 1 "300/0/0/1/-/-" || wt_fail "wan_apply 300 ms"
	pid=$(wan_pid "$P" 1) || wt_fail "no PID recorded"
	pings held 5 0.05 &
	pinger=$!
	sleep 0.3
	kill -TERM "$pid"
	wait "$pinger"
	topo_wait 3 eval "! topo_alive $pid" || wt_fail "wanem outlived TERM"
	set -- $(ping_stats held 5)
	check held "loss %" "$3" 0 0
	grep -q '^wanem: queue 1: received 5 dropped 0 accepted 5' \
	    "$(wan_log "$P" 1)" || wt_fail "wanem did not report on exit"

	wan_apply "$P" 1 fibre || wt_fail "wan_apply fibre"
	pings before 50 0.01
	set -- $(ping_stats before 50)
	check before "median RTT" "$1" 10 11.5
	pid=$(wan_pid "$P" 1) || wt_fail "no PID recorded"
	kill -KILL "$pid"
	topo_wait 3 eval "! topo_alive $pid" || wt_fail "wanem outlived KILL"
	pings after 100 0.01
	set -- $(ping_stats after 100)
	check after "loss %" "$3" 0 0
	check after "median RTT (bypassed)" "$1" 0 2
}
failopen_cleanup() {
	wt_cleanup
}

atf_init_test_cases() {
	atf_add_test_case fibre
	atf_add_test_case jitter
	atf_add_test_case loss
	atf_add_test_case reorder
	atf_add_test_case rate
	atf_add_test_case direction
	atf_add_test_case failopen
}
