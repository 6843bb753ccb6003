#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # functions run by topo_wait
#
# End-to-end tests of marconid on emulated Internet paths: the two-site
# topology (topology.sh) with a WAN profile on each ISP (wan.sh, the
# emulator in regress/wanem), the daemons with their default timers.
#
# cable_cut: both ISPs like cable (12 ms one way, 2 ms jitter, 0.1 %
# loss); site A pings B every 5 ms and ISP 1 becomes a black hole: the
# time without a reply must stay within a bound, thanks to suspect.
#
# lte_soak: both ISPs like LTE (35 ms one way, 12 ms jitter, 1 % loss in
# bursts of about 3) for two minutes with a ping every 100 ms: no pipe
# may go down and the traffic may not move, as `marconictl monitor` at
# each site records it; the time spent suspect is reported.
#
# Every test case records the PIDs of what it starts in its work
# directory; its cleanup ends those processes, by PID only, ends the
# emulators and removes the namespaces, whatever the body did.  Every
# loop is bounded in count and in time.

pt_init() {
	SRCDIR=$(cd "$(atf_get_srcdir)" && pwd)
	TOP=$(cd "$SRCDIR/../.." && pwd)
	MARCONID=$TOP/marconid/marconid
	MARCONICTL=$TOP/marconictl/marconictl
	# shellcheck source=topology.sh
	. "$SRCDIR/topology.sh"
	# shellcheck source=common.sh
	. "$SRCDIR/common.sh"
	# shellcheck source=wan.sh
	. "$SRCDIR/wan.sh"
	if [ -s prefix ]; then
		P=$(cat prefix)
	else
		P=mw$$
		echo "$P" > prefix
	fi
	WAN_STATEDIR=$PWD/wan
	export WAN_STATEDIR
	B_TAP=198.19.0.2
}

# udp_total NS: the UDP datagrams received and sent in NS so far
udp_total() {
	ip netns exec "$1" cat /proc/net/snmp | awk '
	    $1 == "Udp:" && $2 ~ /^[0-9]/ { print $2 + $5; exit }'
}

pt_head() {
	atf_set require.user root
	atf_set timeout "${1:-300}"
	atf_set require.progs "ip nft iptables tc openssl ping ps jq awk"
}

pt_fail() {
	for s in a b; do
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

pt_cleanup() {
	pt_init
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
	for n in 1 2; do
		wan_clear "$P" "$n" 2>/dev/null
	done
	topo_destroy "$P"
}

active_of() {
	_a=$(ctl "$1" -j show pipes 2>/dev/null | jq -r \
	    '[.pipes[] | select(.active == true) | .uplink] | sort |
	    join(",")' 2>/dev/null) || _a="?"
	echo "${_a:-none}"
}

both_active() {
	[ "$(active_of a)" = "$1" ] && [ "$(active_of b)" = "$1" ]
}

all_up() {
	for _s in a b; do
		for _u in isp1 isp2; do
			[ "$(jpipe "$_s" "$_u" .state)" = up ] || return 1
		done
	done
	return 0
}

states() {
	for _s in a b; do
		printf "site %s:" "$_s"
		ctl "$_s" -j show pipes 2>/dev/null | jq -r \
		    '[.pipes[] | .uplink + " " + .state] | join(", ")' \
		    2>/dev/null
	done | tr '\n' ';'
}

# start_sites PROFILE: the topology with PROFILE on both ISPs, both
# daemons with the default timers, all four pipes up, the traffic on
# isp1, and `marconictl monitor` of each site recording
start_sites() {
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	[ -x "$MARCONICTL" ] || atf_fail "$MARCONICTL is not built"
	[ -x "$TOP/regress/wanem/wanem" ] ||
	    atf_skip "regress/wanem/wanem is not built (libnetfilter_queue)"
	id -u _marconid >/dev/null 2>&1 ||
	    atf_fail "user _marconid is missing (scripts/add-user)"
	topo_create "$P" || atf_fail "cannot build the topology"
	mkdir -p "$WAN_STATEDIR"
	for n in 1 2; do
		wan_apply "$P" "$n" "$1" ||
		    atf_fail "cannot emulate $1 on ISP $n"
	done
	for n in site-a site-b; do
		site_identity "$PWD" "$n" ||
		    atf_fail "cannot make the identity of $n"
	done
	FPR_A=$(site_fingerprint site-a.crt) || atf_fail "no fingerprint"
	FPR_B=$(site_fingerprint site-b.crt) || atf_fail "no fingerprint"
	for s in a b; do
		fpr=$FPR_A
		[ "$s" = a ] && fpr=$FPR_B
		site_conf "$s" "$PWD/$s.conf" "$PWD/site-$s.crt" \
		    "$PWD/site-$s.key" "$fpr" || atf_fail "cannot write $s.conf"
		ip netns exec "$P$s" "$MARCONID" -dv -f "$PWD/$s.conf" \
		    -s "$PWD/$s.sock" > "$s.log" 2>&1 &
		echo $! > "$s.pid"
		topo_wait 15 ctl_answers_or_dead "$s" || true
		ctl_answers "$s" || pt_fail "site $s does not answer"
		ps -o pid= --ppid "$(cat "$s.pid")" >> children.pids
	done
	topo_wait 30 all_up ||
	    pt_fail "the four pipes are not up within 30 s: $(states)"
	topo_wait 10 both_active isp1 || pt_fail "traffic is not on isp1"
	for s in a b; do
		"$MARCONICTL" -s "$PWD/$s.sock" monitor > "monitor-$s.out" \
		    2>&1 &
		echo "$! marconictl" >> helpers.pids
	done
}

# ---------------------------------------------------------------------

atf_test_case cable_cut cleanup
cable_cut_head() {
	atf_set descr "On cable-like paths, a black hole in ISP 1 leaves" \
	    "site A's pings every 5 ms without a reply for a bounded time"
	pt_head 180
}
cable_cut_body() {
	pt_init
	start_sites cable
	sleep 10	# the pipes learn the rhythm of their answers

	ip netns exec "${P}a" ping -n -D -i 0.005 -c 1200 -W 1 "$B_TAP" \
	    > ping.out 2>&1 &
	echo "$! ping" >> helpers.pids
	pid=$!
	sleep 2
	isp_cut "$P" 1 || atf_fail "cannot cut ISP 1"
	topo_wait 30 sh -c "! kill -0 $pid 2>/dev/null" ||
	    pt_fail "ping did not end"
	# the longest time between two replies, in ms
	gap=$(awk '/bytes from/ {
		t = $1
		gsub(/[][]/, "", t)
		if (last != "" && (t - last) * 1000 > max)
			max = (t - last) * 1000
		last = t
	    } END { printf "%d\n", max }' ping.out)
	rx=$(grep -c "bytes from" ping.out)
	bound=$((150 * ${MARCONID_TIME_FACTOR:-1}))
	echo "cable: the cut left no reply for $gap ms ($rx replies)" >&2
	[ "$rx" -gt 500 ] || pt_fail "only $rx replies: $(tail -n 3 ping.out)"
	[ "$gap" -le "$bound" ] ||
	    pt_fail "no reply for $gap ms on the cut, more than $bound ms"
	topo_wait 10 both_active isp2 || pt_fail "traffic is not on isp2"
}
cable_cut_cleanup() {
	pt_cleanup
}

atf_test_case lte_soak cleanup
lte_soak_head() {
	atf_set descr "Two minutes of LTE-like paths on both ISPs, with" \
	    "a ping every 100 ms: no pipe goes down, no traffic moves"
	pt_head 360
}
lte_soak_body() {
	pt_init
	start_sites lte
	t0=$(date +%s)
	dg0=$(udp_total "${P}a")
	ip netns exec "${P}a" ping -n -q -i 0.1 -c 1200 -W 2 "$B_TAP" \
	    > ping.out 2>&1 &
	echo "$! ping" >> helpers.pids
	pid=$!
	topo_wait 150 sh -c "! kill -0 $pid 2>/dev/null" ||
	    pt_fail "ping did not end"
	secs=$(($(date +%s) - t0))
	dg1=$(udp_total "${P}a")
	downs=$(cat monitor-a.out monitor-b.out | grep -c -- "-> down")
	moves=$(cat monitor-a.out monitor-b.out | grep -c "traffic ")
	susp=""
	for s in a b; do
		for u in isp1 isp2; do
			n=$(jpipe "$s" "$u" .suspects)
			ms=$(jpipe "$s" "$u" .suspect_ms)
			d=$(jpipe "$s" "$u" .down_after_ms)
			susp="$susp $s/$u: ${n}x ${ms} ms (down after $d ms);"
		done
	done
	loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' ping.out)
	echo "lte, $secs s: $downs pipes down, $moves traffic moves;" \
	    "ping loss $loss %; suspect:$susp" >&2
	[ "$secs" -ge 110 ] || pt_fail "the soak lasted only $secs s"
	# the monitors see state changes: LTE's bursts make pipes suspect
	grep -q -- "-> suspect" monitor-a.out monitor-b.out ||
	    pt_fail "no pipe went suspect in $secs s of LTE: are the" \
	    "monitors or the emulator working?"
	# a path this jittery holds no answer: each pipe carries a probe
	# and a reply each way per interval (4), where a probe sent at
	# once with its echo would make 3 and stretch the bursts of loss;
	# on top, isp1 carries the pings (0.25 per pipe and interval) and
	# the report that goes each way with each probe while data comes
	# (1 per pipe and interval): about 5.25, against 4.25 (measured
	# 5.27 with the replies)
	rate=$(awk -v d="$((dg1 - dg0))" -v s="$secs" \
	    'BEGIN { printf "%.2f", d / (s * 40 * 2) }')
	echo "site A: $((dg1 - dg0)) UDP datagrams, $rate per pipe and" \
	    "interval" >&2
	awk -v r="$rate" 'BEGIN { exit !(r >= 4.75 && r <= 5.9) }' ||
	    pt_fail "$rate datagrams per pipe and interval at site A, not" \
	    "about 5.25: a probe and a reply each way, with reports and" \
	    "pings"
	[ "$downs" = 0 ] || pt_fail "$downs pipes went down:" \
	    "$(grep -h -- "-> down" monitor-a.out monitor-b.out | head -n 3)"
	[ "$moves" = 0 ] || pt_fail "the traffic moved $moves times:" \
	    "$(grep -h "traffic " monitor-a.out monitor-b.out | head -n 3)"
}
lte_soak_cleanup() {
	pt_cleanup
}

atf_init_test_cases() {
	atf_add_test_case cable_cut
	atf_add_test_case lte_soak
}
