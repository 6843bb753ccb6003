# Named WAN profiles for the ISPs of the two-site topology (topology.sh):
# a shell library sourced by the tests, the demo and the benchmark,
# after topology.sh.  Not run on its own.
#
# An ISP gets a profile per direction: "ab" is what it forwards from
# site A to site B (in on its link sitea, out on siteb), "ba" the other
# way.  The delay, the jitter and the loss are wanem's
# (regress/wanem/wanem.c), one process per ISP namespace serving both
# directions, queue 1 for ab and queue 2 for ba, fed by iptables NFQUEUE
# rules with --queue-bypass in a chain of its own ("wanem") of the
# FORWARD hook; the rate and the buffer depth are tc tbf's, on the ISP's
# link out (siteb for ab, sitea for ba).  This tbf replaces whatever
# isp_tbf put there: use one or the other on a link.
#
# The profiles, all figures in one place.  delay and jitter are one
# way, in ms: each packet is held delay + U(-jitter, +jitter) (uniform;
# WAN_OPTS=dist=normal makes jitter a normal sigma), so a ping's RTT has
# a mean of 2 x delay and a standard deviation of jitter x sqrt(2/3).
# loss is in %, one way; burst is the mean length of a run of losses
# (1: each packet on its own; more: the Gilbert-Elliott model).  rate is
# tc's ("-": the link's own speed), buffer the tbf queue in ms.
#
WAN_PROFILES="
# name		delay	jitter	loss	burst	rate	buffer
fibre		5	0.2	0	1	-	-
cable		12	2	0.1	1	-	-
dsl		20	3	0.2	1	20mbit	50
dsl-deep	20	3	0.2	1	20mbit	400
lte		35	12	1	3	30mbit	50
lte-deep	35	12	1	3	30mbit	400
sat		300	10	0.5	1	50mbit	100
zero		0	0	0	1	-	-
"
#
# A PROFILE is a name above or the same six figures written out as
# "delay/jitter/loss/burst/rate/buffer" (as "20/0/1/1/-/-").
#
#	wan_profile PROFILE		prints its six figures, fails for an
#					unknown name
#	wan_apply PREFIX N PROFILE [ab|ba|both]
#					ISP N emulates PROFILE in that
#					direction (both unless told); the
#					other keeps what it had; wanem is
#					restarted with both
#	wan_clear PREFIX N		ISP N as topology.sh made it: wanem
#					ended (by its PID), rules and tbf gone
#	wan_pid PREFIX N		prints the PID of ISP N's wanem
#	wan_stats PREFIX N		prints wanem's counters, one line a
#					queue (from its log)
#	wan_log PREFIX N		prints the path of that log
#
# wanem is $WANEM, or $TOP/regress/wanem/wanem, or wanem in the PATH.
# Its PID file and log are in $WAN_STATEDIR (/run/marconi-wan unless
# set), named after the ISP's namespace.  WAN_SEED (1 unless set) seeds
# its draws, the same losses for the same packets; WAN_OPTS adds wanem
# options (as "reorder") to both directions.  ISP N's wanem runs on CPU
# N - 1 (modulo the CPUs there are) unless WAN_CPU names another, or is
# "none", and at real-time priority 1 unless WAN_RT=0.
#
# Every loop here is bounded in count and in time.

_wan_err() {
	echo "wan: $*" >&2
}

_wan_dir() {
	echo "${WAN_STATEDIR:-/run/marconi-wan}"
}

_wan_bin() {
	for _c in "${WANEM:-}" "${TOP:+$TOP/regress/wanem/wanem}" \
	    "$(command -v wanem 2>/dev/null)"; do
		if [ -n "$_c" ] && [ -x "$_c" ]; then
			echo "$_c"
			return 0
		fi
	done
	_wan_err "no wanem: build it (make tests) or set WANEM"
	return 1
}

wan_profile() {
	case "$1" in
	*/*/*/*/*/*)
		echo "$1" | tr '/' ' '
		return 0
		;;
	esac
	_l=$(echo "$WAN_PROFILES" | awk -v n="$1" '$1 == n {
	    print $2, $3, $4, $5, $6, $7 }')
	if [ -z "$_l" ]; then
		_wan_err "no profile \"$1\""
		return 1
	fi
	echo "$_l"
}

wan_log() {
	echo "$(_wan_dir)/$1isp$2.log"
}

wan_pid() {
	_f="$(_wan_dir)/$1isp$2.pid"
	[ -s "$_f" ] || return 1
	cat "$_f"
}

wan_stats() {
	_f=$(wan_log "$1" "$2")
	_pid=$(wan_pid "$1" "$2") && kill -USR1 "$_pid" 2>/dev/null &&
	    sleep 0.2
	grep '^wanem: queue' "$_f" 2>/dev/null | tail -n 2
}

# _wan_spec QUEUE "delay jitter loss burst rate buffer"
_wan_spec() {
	# shellcheck disable=SC2086 # the six figures, one word each
	set -- "$1" $2
	_s="queue=$1,delay=$2,jitter=$3,loss=$4,burst=$5"
	[ -z "${WAN_OPTS:-}" ] || _s="$_s,$WAN_OPTS"
	echo "$_s"
}

# _wan_tbf NS DEV "delay jitter loss burst rate buffer"
_wan_tbf() {
	_ns=$1
	_dev=$2
	# shellcheck disable=SC2086 # the six figures, one word each
	set -- $3
	if [ "$5" = - ]; then
		ip netns exec "$_ns" tc qdisc del dev "$_dev" root 2>/dev/null
		return 0
	fi
	ip netns exec "$_ns" tc qdisc replace dev "$_dev" root tbf \
	    rate "$5" burst 16kb latency "${6}ms"
}

# Ends ISP N's wanem by its PID: TERM lets it give back what it holds;
# KILL after three seconds, which the rules' bypass makes harmless.
_wan_stop() {
	_pid=$(wan_pid "$1" "$2") || return 0
	rm -f "$(_wan_dir)/$1isp$2.pid"
	kill -TERM "$_pid" 2>/dev/null || return 0
	_t=0
	while [ "$_t" -lt 30 ] && topo_alive "$_pid"; do
		sleep 0.1
		_t=$((_t + 1))
	done
	if topo_alive "$_pid"; then
		_wan_err "wanem $_pid did not end on TERM; killing it"
		kill -KILL "$_pid" 2>/dev/null
	fi
	return 0
}

# the chain "wanem" of both families, empty, FORWARD jumping to it once
_wan_chain() {
	for _ipt in iptables ip6tables; do
		ip netns exec "$1" "$_ipt" -N wanem 2>/dev/null
		ip netns exec "$1" "$_ipt" -F wanem || return 1
		ip netns exec "$1" "$_ipt" -C FORWARD -j wanem 2>/dev/null ||
		    ip netns exec "$1" "$_ipt" -I FORWARD -j wanem ||
		    return 1
	done
}

wan_apply() {
	_topo_check_prefix "$1" || return 1
	case "$2" in
	1|2)	;;
	*)	_wan_err "wan_apply: ISP 1 or 2, not \"$2\""; return 1 ;;
	esac
	_ns="$1isp$2"
	_dir=$(_wan_dir)
	_bin=$(_wan_bin) || return 1
	wan_profile "$3" >/dev/null || return 1
	case "${4:-both}" in
	ab|ba)	_dirs=$4 ;;
	both)	_dirs="ab ba" ;;
	*)	_wan_err "wan_apply: ab, ba or both, not \"$4\""; return 1 ;;
	esac
	mkdir -p "$_dir" || return 1
	for _d in $_dirs; do
		wan_profile "$3" > "$_dir/$_ns.$_d" || return 1
	done

	# no packet queued any more, then wanem gives back what it holds
	_wan_chain "$_ns" || return 1
	_wan_stop "$1" "$2"
	_args=""
	for _d in ab ba; do
		[ -s "$_dir/$_ns.$_d" ] || continue
		case "$_d" in
		ab)	_q=1 ;;
		ba)	_q=2 ;;
		esac
		_args="$_args $(_wan_spec "$_q" "$(cat "$_dir/$_ns.$_d")")"
	done
	rm -f "$_dir/$_ns.pid.new"
	# on one CPU, so that the kernel keeps the order it gives back
	# (wanem.c); ISP N's on CPU N - 1 of those there are
	_cpu=${WAN_CPU:-$(( ($2 - 1) % $(nproc) ))}
	case "$_cpu" in
	none)	_cpu="" ;;
	*)	_cpu="-c $_cpu" ;;
	esac
	# first on its CPU: the host's load is not the profile's jitter
	[ "${WAN_RT:-1}" = 0 ] || _cpu="$_cpu -r"
	# shellcheck disable=SC2086 # one word per queue
	ip netns exec "$_ns" "$_bin" $_cpu -s "${WAN_SEED:-1}" \
	    -p "$_dir/$_ns.pid.new" $_args >> "$_dir/$_ns.log" 2>&1 &
	_pid=$!
	# the PID file appears once the queues are bound
	_t=0
	while [ "$_t" -lt 50 ] && [ ! -s "$_dir/$_ns.pid.new" ]; do
		topo_alive "$_pid" || break
		sleep 0.1
		_t=$((_t + 1))
	done
	if [ ! -s "$_dir/$_ns.pid.new" ]; then
		_wan_err "wanem did not start in $_ns (see $_dir/$_ns.log)"
		kill -KILL "$_pid" 2>/dev/null
		return 1
	fi
	# ours to end, whatever wanem does with its own PID file
	echo "$_pid" > "$_dir/$_ns.pid"

	for _d in ab ba; do
		[ -s "$_dir/$_ns.$_d" ] || continue
		case "$_d" in
		ab)	_q=1; _in=sitea; _out=siteb ;;
		ba)	_q=2; _in=siteb; _out=sitea ;;
		esac
		for _ipt in iptables ip6tables; do
			ip netns exec "$_ns" "$_ipt" -A wanem -i "$_in" \
			    -o "$_out" -j NFQUEUE --queue-num "$_q" \
			    --queue-bypass || return 1
		done
		_wan_tbf "$_ns" "$_out" "$(cat "$_dir/$_ns.$_d")" || return 1
	done
	return 0
}

wan_clear() {
	_topo_check_prefix "$1" || return 1
	_ns="$1isp$2"
	_dir=$(_wan_dir)
	if _topo_ns_exists "$_ns"; then
		for _ipt in iptables ip6tables; do
			ip netns exec "$_ns" "$_ipt" -F wanem 2>/dev/null
		done
	fi
	_wan_stop "$1" "$2"
	if _topo_ns_exists "$_ns"; then
		for _dev in sitea siteb; do
			ip netns exec "$_ns" tc qdisc del dev "$_dev" root \
			    2>/dev/null
		done
	fi
	rm -f "$_dir/$_ns.ab" "$_dir/$_ns.ba" "$_dir/$_ns.pid.new"
	return 0
}
