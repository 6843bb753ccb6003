#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # functions run by within and topo_wait
#
# End-to-end tests of `marconictl reload` under traffic: site A and
# site B of the two-site topology (topology.sh), each with uplinks isp1
# (preference 10) and isp2 (20), every pipe probed every 100 ms and
# down after 300 ms without an answer.  While each reload happens, site
# A pings site B across the virtual segment every 10 ms and sends it a
# TCP stream of a line every 50 ms.  What an administrator expects of a
# reload: what did not change goes on untouched (the same uplink
# processes, the same TLS sessions, no packet lost), and what changed
# takes effect at once: a new preference moves the traffic, new probe
# timers detect an outage sooner, an uplink added gets its process and
# its pipe, an uplink removed takes its traffic away as a cut would,
# and a file with errors changes nothing.
#
# A TLS session kept is one whose pipe has the same process, whose key
# age (`key_age_sec` of `marconictl -j show pipes`) went on growing with
# no rekey counted, whose LAST-CHANGE (`last_change_sec`) was not reset,
# and for which the daemon logged no "session up" after the reload.
#
# Every test case records the PIDs of what it starts in its work
# directory; its cleanup ends those processes, by PID only, and removes
# the namespaces, whatever the body did.  Every loop is bounded in count
# and in time.

# ---------------------------------------------------------------------
# helpers

# Paths and the topology library; called first by every body and cleanup.
rl_init() {
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
		P=mr$$
		echo "$P" > prefix
	fi
	# site B's address on the virtual segment, pinged from site A
	B_TAP=198.19.0.2
	PROBE_OLD="probe interval 100ms timeout 300ms"
}

rl_head() {
	atf_set require.user root
	atf_set timeout "${1:-180}"
	atf_set require.progs "ip nft openssl ping ps jq awk date nc ss timeout"
}

# Fails the test case after showing what the daemons said; the reason is
# one line (kyua takes no other).
rl_fail() {
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

# reload SITE: `marconictl reload` at SITE, which must succeed
reload() {
	ctl "$1" reload > "reload-$1.out" 2>&1 ||
	    rl_fail "marconictl reload at site $1 exited $?:" \
	    "$(cat "reload-$1.out")"
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

state_of() {
	_st=$(jpipe "$1" "$2" .state)
	echo "${_st:-none}"
}

# pipes_up UPLINK...: the pipes over those uplinks up at both sites
pipes_up() {
	for _s in a b; do
		for _u in "$@"; do
			[ "$(state_of "$_s" "$_u")" = up ] || return 1
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

# within START MS STEP COMMAND...: true once COMMAND succeeds, tried
# every STEP seconds until MS milliseconds after START; WITHIN_MS says
# when, from START, it last answered
within() {
	_start=$1
	# slower builds (sanitizers) stretch the bounds by this factor
	_ms=$(($2 * ${MARCONID_TIME_FACTOR:-1}))
	_step=$3
	shift 3
	_n=0
	while [ "$_n" -lt 2000 ]; do
		if "$@"; then
			WITHIN_MS=$(($(now_ms) - _start))
			return 0
		fi
		WITHIN_MS=$(($(now_ms) - _start))
		[ "$WITHIN_MS" -lt "$_ms" ] || return 1
		sleep "$_step"
		_n=$((_n + 1))
	done
	return 1
}

# The children of site $1's daemon, recorded for the cleanup should the
# parent die first; called again after a reload that starts one.
record_children() {
	ps -o pid= --ppid "$(cat "$1.pid")" >> children.pids 2>/dev/null
}

rl_cleanup() {
	rl_init
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
	topo_destroy "$P"
}

make_sites() {
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	[ -x "$MARCONICTL" ] || atf_fail "$MARCONICTL is not built"
	id -u _marconid >/dev/null 2>&1 ||
	    atf_fail "user _marconid is missing (scripts/add-user)"
	topo_create "$P" || atf_fail "cannot build the topology"
	for n in site-a site-b; do
		site_identity "$PWD" "$n" ||
		    atf_fail "cannot make the identity of $n"
	done
	FPR_A=$(site_fingerprint site-a.crt) || atf_fail "no fingerprint"
	FPR_B=$(site_fingerprint site-b.crt) || atf_fail "no fingerprint"
}

# write_confs PROBE PREF1 PREF2 [UPLINK]: a.conf and b.conf, with the
# global PROBE line, those preferences for isp1 and isp2, and without
# UPLINK (nor its pipe) when one is given; checked with marconid -n
write_confs() {
	for s in a b; do
		fpr=$FPR_A
		[ "$s" = a ] && fpr=$FPR_B
		site_conf "$s" "$PWD/$s.conf" "$PWD/site-$s.crt" \
		    "$PWD/site-$s.key" "$fpr" "$2" "$3" ||
		    atf_fail "cannot write $s.conf"
		site_conf_global "$s.conf" "$1" ||
		    atf_fail "cannot edit $s.conf"
		if [ -n "${4:-}" ]; then
			site_conf_no_uplink "$s.conf" "$4" ||
			    atf_fail "cannot remove $4 from $s.conf"
		fi
		"$MARCONID" -n -f "$PWD/$s.conf" > "$s.check" 2>&1 ||
		    rl_fail "marconid -n refuses $s.conf: $(cat "$s.check")"
	done
}

start_site() {
	ip netns exec "$P$1" "$MARCONID" -dv -f "$PWD/$1.conf" \
	    -s "$PWD/$1.sock" > "$1.log" 2>&1 &
	echo $! > "$1.pid"
	topo_wait 15 ctl_answers_or_dead "$1" || true
	topo_alive "$(cat "$1.pid")" ||
	    rl_fail "marconid of site $1 exited at startup"
	ctl_answers "$1" ||
	    rl_fail "no answer on site $1's control socket in 15 s"
	record_children "$1"
}

# start_sites UPLINK...: both daemons with the a.conf and b.conf written,
# the pipes over those uplinks up, the traffic on isp1, B answering
start_sites() {
	start_site a
	start_site b
	topo_wait 20 pipes_up "$@" ||
	    rl_fail "the pipes over $* are not up within 20 s: $(states)"
	topo_wait 5 both_active isp1 ||
	    rl_fail "traffic is not on isp1 at both sites once up:" \
	    "site a on $(active_of a), site b on $(active_of b)"
	topo_ping "${P}a" "$B_TAP" 10 ||
	    rl_fail "$B_TAP does not answer site A"
}

# traffic_start SECONDS: pings every 10 ms from A to B for about
# SECONDS, and a TCP stream from A to B of a line every 50 ms for about
# as long; returns once the stream flows
traffic_start() {
	TR_PINGS=$(($1 * 100))
	TR_LINES=$(($1 * 20))
	TR_SECS=$1
	ip netns exec "${P}a" ping -n -D -i 0.01 -c "$TR_PINGS" -W 1 \
	    "$B_TAP" > ping.out 2>&1 &
	echo $! > ping.pid
	record_helper $! ping

	ip netns exec "${P}b" timeout $(($1 + 60)) nc -d -l "$B_TAP" 5001 \
	    > received.txt 2> nc-b.err &
	record_helper $! timeout
	echo $! > listener.pid
	listening() {
		ip netns exec "${P}b" ss -Hltn 'sport = :5001' 2>/dev/null |
		    grep -q .
	}
	topo_wait 10 listening || rl_fail "nc does not listen at site B"

	# each line: its number and the time it was written, in ms
	sh -c 'echo $$ > generator.pid
	    i=0
	    while [ "$i" -lt "$1" ]; do
		echo "$i $(date +%s%3N)" || exit 1
		sleep 0.05
		i=$((i + 1))
	    done' reload-generator "$TR_LINES" |
	    ip netns exec "${P}a" timeout $(($1 + 60)) nc -N "$B_TAP" 5001 \
	    > /dev/null 2> nc-a.err &
	echo $! > sender.pid
	record_helper $! timeout
	topo_wait 5 test -s generator.pid ||
	    rl_fail "the generator of the stream did not start"
	record_helper "$(cat generator.pid)" reload-generator
	flowing() {
		[ "$(wc -l < received.txt)" -ge 10 ]
	}
	topo_wait 10 flowing || rl_fail "the stream does not reach site B:" \
	    "$(wc -l < received.txt) lines in 10 s; $(cat nc-a.err nc-b.err)"
}

# The time of writing of the newest complete line site B received.
newest() {
	# as a string: awk would print a number this large with an exponent
	awk '/^[0-9]+ [0-9]+$/ && length($2) == 13 { t = $2 }
	    END { print (t == "" ? 0 : t) }' received.txt
}

# tcp_moving SINCE WHAT: a line written after SINCE (ms) reaches site B
# within 3 s, and the sender is still there
tcp_moving() {
	_since=$1
	shift
	after_since() {
		[ "$(newest)" -gt "$_since" ]
	}
	within "$_since" 3000 0.05 after_since || rl_fail "no line of the" \
	    "TCP stream written after $* reached site B within 3 s; the" \
	    "newest was written $((_since - $(newest))) ms before"
	topo_alive "$(cat sender.pid)" ||
	    rl_fail "nc at site A ended after $*: $(cat nc-a.err)"
	echo "TCP: a line written after $* reached site B $WITHIN_MS ms" \
	    "after it" >&2
}

# traffic_end MAXLOST MAXRUN WHAT: waits for the pings and the stream to
# end; fails when more than MAXLOST pings were lost, or a run of more
# than MAXRUN, or when the stream did not arrive whole and in order
traffic_end() {
	topo_wait $((TR_SECS * 3 + 30)) eval \
	    "! topo_alive $(cat ping.pid)" ||
	    rl_fail "ping did not end in time"
	# transmitted, received (once each), the longest run lost, where
	# it started, the time between the replies around it (ms)
	# shellcheck disable=SC2046 # five numbers
	set -- "$@" $(awk '
	/bytes from/ && /icmp_seq=/ && !/DUP!/ {
		match($0, /icmp_seq=[0-9]+/)
		s = substr($0, RSTART + 9, RLENGTH - 9) + 0
		if (!(s in got)) {
			got[s] = 1
			rx++
			t = $1
			gsub(/[][]/, "", t)
			at[s] = t
		}
	}
	/packets transmitted/ { tx = $1 }
	END {
		run = best = bstart = 0
		gap = -1
		last = ""
		for (s = 1; s <= tx; s++) {
			if (s in got) {
				if (run > best) {
					best = run
					bstart = s - run
					gap = last == "" ? -1 : \
					    int((at[s] - last) * 1000)
				}
				run = 0
				last = at[s]
			} else
				run++
		}
		if (run > best) {
			best = run
			bstart = tx - run + 1
			gap = -1
		}
		printf "%d %d %d %d %d\n", tx + 0, rx + 0, best, bstart, gap
	}' ping.out)
	_maxlost=$1 _maxrun=$2 _what=$3
	shift 3
	tx=$1 rx=$2 run=$3 first=$4 gap=$5
	[ "$tx" -gt 0 ] || rl_fail "ping sent nothing: $(tail -n 3 ping.out)"
	echo "ping: $rx of $tx answered; the longest run lost: $run from" \
	    "icmp_seq=$first, $gap ms between the replies around it" >&2
	[ $((tx - rx)) -le "$_maxlost" ] || rl_fail "$((tx - rx)) of $tx" \
	    "pings (10 ms apart) lost through $_what, at most $_maxlost" \
	    "allowed; the longest run $run from icmp_seq=$first ($gap ms)"
	[ "$run" -le "$_maxrun" ] || rl_fail "$run pings in a row lost" \
	    "(from icmp_seq=$first, $gap ms without a reply) through" \
	    "$_what, at most $_maxrun allowed"

	sender=$(cat sender.pid)
	topo_wait $((TR_SECS * 3 + 30)) eval "! topo_alive $sender" ||
	    rl_fail "nc at site A did not end after the generator"
	wait "$sender"
	rc=$?
	[ "$rc" -eq 0 ] || rl_fail "nc at site A exited $rc through" \
	    "$_what: $(cat nc-a.err)"
	topo_wait 10 eval "! topo_alive $(cat listener.pid)" ||
	    rl_fail "nc at site B did not end after the sender"
	bad=$(awk -v n="$TR_LINES" '
	    $1 != NR - 1 { print "line " NR " is \"" $0 "\""; exit }
	    END { if (NR != n) print NR " lines of " n }' received.txt)
	[ -z "$bad" ] || rl_fail "the TCP stream arrived altered through" \
	    "$_what: $bad"
}

# session_snap FILE UPLINK...: for each site and uplink, "site uplink
# pid key_age rekeys last_change time(s) N", N being the number of
# "session up" lines of that uplink in the site's log, into FILE
session_snap() {
	_f=$1
	shift
	: > "$_f"
	for _s in a b; do
		for _u in "$@"; do
			_j=$(ctl "$_s" -j show pipes 2>/dev/null | jq -r \
			    ".pipes[] | select(.uplink == \"$_u\") |
			    \"\(.pid) \(.key_age_sec) \(.rekeys)
			    \(.last_change_sec)\"" 2>/dev/null | tr '\n' ' ')
			_n=$(grep -c "uplink $_u: session up" "$_s.log")
			# else the check of the log after the reload is void
			[ "$_n" -gt 0 ] || rl_fail "site $_s's log has no" \
			    "\"session up\" line for $_u although it is up"
			echo "$_s $_u $_j $(date +%s) $_n" >> "$_f"
		done
	done
}

# sessions_kept FILE WHAT: every pipe in FILE (session_snap) has the same
# process and TLS session as then, and no session came up since
sessions_kept() {
	_snap=$1
	_what=$2
	_now=$(date +%s)
	while read -r _s _u _pid _age _rk _lc _t _nlog; do
		_n=$(grep -c "uplink $_u: session up" "$_s.log")
		[ "$_n" -eq "$_nlog" ] || rl_fail "site $_s logged" \
		    "$((_n - _nlog)) \"session up\" for $_u through $_what:" \
		    "$(grep "uplink $_u: session up" "$_s.log" | tail -n 1)"
		_j=$(ctl "$_s" -j show pipes 2>/dev/null | jq -r \
		    ".pipes[] | select(.uplink == \"$_u\") |
		    \"\(.pid) \(.key_age_sec) \(.rekeys)
		    \(.last_change_sec) \(.restarts)\"" 2>/dev/null |
		    tr '\n' ' ')
		# shellcheck disable=SC2086 # five fields
		set -- $_j
		[ $# -eq 5 ] || rl_fail "site $_s has no pipe over $_u after" \
		    "$_what: $(states)"
		_el=$((_now - _t))
		[ "$1" = "$_pid" ] || rl_fail "site $_s's process of $_u" \
		    "changed through $_what: PID $_pid then $1"
		[ "$5" = 0 ] || rl_fail "site $_s restarted the process of" \
		    "$_u $5 times"
		[ "$3" = "$_rk" ] || rl_fail "site $_s's pipe over $_u" \
		    "counted rekeys $_rk then $3 through $_what"
		case "$2" in
		""|*[!0-9]*)
			rl_fail "site $_s's pipe over $_u has key_age_sec" \
			    "\"$2\" after $_what" ;;
		esac
		# the counters come once a second: 2 s of slack
		if [ "$2" -le "$_age" ] || [ "$2" -lt $((_age + _el - 2)) ]; then
			rl_fail "site $_s's pipe over $_u has a new session:" \
			    "key age $_age s, $_el s later $2 s (rekeys $_rk" \
			    "-> $3), through $_what"
		fi
		[ "$4" -ge $((_lc + _el - 2)) ] || rl_fail "site $_s's pipe" \
		    "over $_u changed state: LAST-CHANGE $_lc s, $_el s" \
		    "later $4 s; state now $(state_of "$_s" "$_u")"
		echo "site $_s $_u: PID $1 kept, key age $_age -> $2 s and" \
		    "LAST-CHANGE $_lc -> $4 s over $_el s, rekeys $3" >&2
	done < "$_snap"
}

check_alive() {
	for s in a b; do
		topo_alive "$(cat "$s.pid")" ||
		    rl_fail "marconid of site $s died"
	done
}

reloads_of() {
	ctl "$1" -j show summary 2>/dev/null | jq -r '.summary.reloads' \
	    2>/dev/null
}

# ---------------------------------------------------------------------

atf_test_case unchanged cleanup
unchanged_head() {
	atf_set descr "Three reloads of the same configuration, 1 s apart," \
	    "under pings every 10 ms and a TCP stream: no ping lost, the" \
	    "stream goes on, the TLS sessions are kept"
	rl_head 180
}
unchanged_body() {
	rl_init
	make_sites
	write_confs "$PROBE_OLD" 10 20
	start_sites isp1 isp2
	# sessions some seconds old: a new one would show
	sleep 4
	traffic_start 8
	session_snap before isp1 isp2
	k=0
	while [ "$k" -lt 3 ]; do
		reload a
		reload b
		sleep 1
		k=$((k + 1))
	done
	t=$(now_ms)
	for s in a b; do
		[ "$(reloads_of "$s")" = 3 ] || rl_fail "site $s counts" \
		    "$(reloads_of "$s") reloads, not 3"
	done
	tcp_moving "$t" "the third reload"
	sleep 2
	sessions_kept before "three reloads of the same configuration"
	both_active isp1 || rl_fail "after the reloads site a is on" \
	    "$(active_of a), site b on $(active_of b), not isp1"
	traffic_end 0 0 "three reloads of the same configuration"
	check_alive
}
unchanged_cleanup() {
	rl_cleanup
}

atf_test_case change_preference cleanup
change_preference_head() {
	atf_set descr "A reload that swaps the preferences of isp1 and" \
	    "isp2 moves the traffic to isp2 within 1 s at both sites," \
	    "losing at most 5 pings, and keeps the sessions"
	rl_head 180
}
change_preference_body() {
	rl_init
	make_sites
	write_confs "$PROBE_OLD" 10 20
	start_sites isp1 isp2
	# sessions some seconds old: a new one would show
	sleep 4
	traffic_start 6
	session_snap before isp1 isp2
	write_confs "$PROBE_OLD" 20 10
	t=$(now_ms)
	reload a
	reload b
	within "$t" 1000 0.05 both_active isp2 || rl_fail "1 s after the" \
	    "reload swapping the preferences site a is on $(active_of a)," \
	    "site b on $(active_of b), not isp2; $(states)"
	echo "traffic on isp2 at both sites $WITHIN_MS ms after the" \
	    "reloads began" >&2
	for s in a b; do
		[ "$(jpipe "$s" isp2 .preference)" = 10 ] || rl_fail "site" \
		    "$s's isp2 has preference $(jpipe "$s" isp2 .preference)"
	done
	tcp_moving "$t" "the reload"
	sleep 2
	sessions_kept before "the reload swapping the preferences"
	traffic_end 5 5 "the reload swapping the preferences"
	check_alive
}
change_preference_cleanup() {
	rl_cleanup
}

atf_test_case probe_timers cleanup
probe_timers_head() {
	atf_set descr "A reload from probe interval 100ms timeout 300ms to" \
	    "50ms and 200ms loses nothing and keeps the sessions; a cut" \
	    "of ISP 1 is then seen within 400 ms"
	rl_head 180
}
probe_timers_body() {
	rl_init
	make_sites
	write_confs "$PROBE_OLD" 10 20
	start_sites isp1 isp2
	# sessions some seconds old: a new one would show
	sleep 4
	traffic_start 6
	session_snap before isp1 isp2
	write_confs "probe interval 50ms timeout 200ms" 10 20
	t=$(now_ms)
	reload a
	reload b
	tcp_moving "$t" "the reload"
	sleep 2
	sessions_kept before "the reload of the probe timers"
	traffic_end 0 0 "the reload of the probe timers"

	t_cut=$(now_ms)
	isp_cut "$P" 1 || atf_fail "cannot cut ISP 1"
	both_down() {
		[ "$(state_of a isp1)" = down ] &&
		    [ "$(state_of b isp1)" = down ]
	}
	if ! within "$t_cut" 400 0.02 both_down; then
		late=$WITHIN_MS
		within "$t_cut" 3000 0.02 both_down
		rl_fail "isp1 is not down at both sites 400 ms after the" \
		    "cut with timeout 200ms ($late ms): site a" \
		    "\"$(state_of a isp1)\", site b \"$(state_of b isp1)\";" \
		    "both down after $WITHIN_MS ms"
	fi
	echo "isp1 down at both sites $WITHIN_MS ms after the cut" >&2
	check_alive
}
probe_timers_cleanup() {
	rl_cleanup
}

atf_test_case add_uplink cleanup
add_uplink_head() {
	atf_set descr "A reload that adds uplink isp2 and its pipe starts" \
	    "a process for it whose pipe comes up, leaves the process and" \
	    "session of isp1 alone, and loses nothing"
	rl_head 180
}
add_uplink_body() {
	rl_init
	make_sites
	write_confs "$PROBE_OLD" 10 20 isp2
	start_sites isp1
	for s in a b; do
		[ -z "$(jpipe "$s" isp2 .state)" ] ||
		    rl_fail "site $s has a pipe over isp2 before the reload"
	done
	# sessions some seconds old: a new one would show
	sleep 4
	traffic_start 8
	session_snap before isp1
	write_confs "$PROBE_OLD" 10 20
	t=$(now_ms)
	reload a
	reload b
	topo_wait 10 pipes_up isp2 || rl_fail "the pipes over isp2 are not" \
	    "up 10 s after the reload that added them: $(states)"
	echo "isp2 up at both sites $(($(now_ms) - t)) ms after the" \
	    "reloads began" >&2
	for s in a b; do
		record_children "$s"
		pid=$(jpipe "$s" isp2 .pid)
		ps -o args= --ppid "$(cat "$s.pid")" > "ps-$s.out" 2>&1
		grep -q 'marconid: pipe isp2' "ps-$s.out" || rl_fail "no" \
		    "\"marconid: pipe isp2\" process at site $s after the" \
		    "reload: $(tr '\n' ';' < "ps-$s.out")"
		is_marconid "${pid:-0}" || rl_fail "site $s's pipe over isp2" \
		    "has PID \"$pid\", not a process of marconid"
	done
	tcp_moving "$t" "the reload"
	sleep 2
	sessions_kept before "the reload adding isp2"
	both_active isp1 || rl_fail "after the reload site a is on" \
	    "$(active_of a), site b on $(active_of b), not isp1"
	traffic_end 0 0 "the reload adding isp2"
	check_alive
}
add_uplink_cleanup() {
	rl_cleanup
}

atf_test_case remove_active cleanup
remove_active_head() {
	atf_set descr "A reload that removes uplink isp1, which carries" \
	    "the traffic, at both sites moves the traffic to isp2 as a cut" \
	    "would (no run of lost pings reaches 1 s) and ends the" \
	    "process of isp1"
	rl_head 180
}
remove_active_body() {
	rl_init
	make_sites
	write_confs "$PROBE_OLD" 10 20
	start_sites isp1 isp2
	# sessions some seconds old: a new one would show
	sleep 4
	traffic_start 8
	session_snap before isp2
	pid_a=$(jpipe a isp1 .pid)
	pid_b=$(jpipe b isp1 .pid)
	for pid in "$pid_a" "$pid_b"; do
		is_marconid "${pid:-0}" ||
		    rl_fail "the pipe over isp1 has no process: \"$pid\""
	done
	sleep 1
	write_confs "$PROBE_OLD" 10 20 isp1
	t=$(now_ms)
	reload a
	reload b
	within "$t" 1000 0.05 both_active isp2 || rl_fail "1 s after the" \
	    "reload removing isp1 site a is on $(active_of a), site b on" \
	    "$(active_of b), not isp2; $(states)"
	echo "traffic on isp2 at both sites $WITHIN_MS ms after the" \
	    "reloads began" >&2
	gone() {
		! is_marconid "$pid_a" && ! is_marconid "$pid_b"
	}
	topo_wait 5 gone || rl_fail "the process of isp1 still runs 5 s" \
	    "after the reload that removed it: site a PID $pid_a" \
	    "$(is_marconid "$pid_a" && echo alive), site b PID $pid_b" \
	    "$(is_marconid "$pid_b" && echo alive)"
	for s in a b; do
		[ -z "$(jpipe "$s" isp1 .state)" ] || rl_fail "site $s still" \
		    "shows a pipe over isp1: $(states)"
	done
	tcp_moving "$t" "the reload"
	sleep 2
	sessions_kept before "the reload removing isp1"
	traffic_end 100 99 "the reload removing isp1"
	check_alive
}
remove_active_cleanup() {
	rl_cleanup
}

atf_test_case bad_reload cleanup
bad_reload_head() {
	atf_set descr "A reload of a file with a syntax error exits 1 with" \
	    "file:line, loses nothing and keeps the sessions"
	rl_head 180
}
bad_reload_body() {
	rl_init
	make_sites
	write_confs "$PROBE_OLD" 10 20
	start_sites isp1 isp2
	# sessions some seconds old: a new one would show
	sleep 4
	traffic_start 6
	session_snap before isp1 isp2
	t=$(now_ms)
	for s in a b; do
		site_conf_global "$s.conf" "probe interval {" ||
		    atf_fail "cannot edit $s.conf"
		ctl "$s" reload > "reload-$s.out" 2>&1
		rc=$?
		[ "$rc" -eq 1 ] || rl_fail "reload of a bad file at site $s" \
		    "exited $rc: $(cat "reload-$s.out")"
		grep -Eq "$s\\.conf:[0-9]+: " "reload-$s.out" || rl_fail \
		    "reload at site $s did not say file:line:" \
		    "$(cat "reload-$s.out")"
	done
	tcp_moving "$t" "the failed reload"
	sleep 2
	sessions_kept before "the failed reload"
	for s in a b; do
		[ "$(reloads_of "$s")" = 0 ] || rl_fail "site $s counts" \
		    "$(reloads_of "$s") reloads after a failed one"
	done
	both_active isp1 || rl_fail "after the failed reload site a is on" \
	    "$(active_of a), site b on $(active_of b), not isp1"
	traffic_end 0 0 "the failed reload"
	check_alive
}
bad_reload_cleanup() {
	rl_cleanup
}

atf_init_test_cases() {
	atf_add_test_case unchanged
	atf_add_test_case change_preference
	atf_add_test_case probe_timers
	atf_add_test_case add_uplink
	atf_add_test_case remove_active
	atf_add_test_case bad_reload
}
