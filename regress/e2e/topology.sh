# Two sites, two ISPs, in Linux network namespaces: a shell library
# sourced by the end-to-end tests and by the demo.  Not run on its own.
#
#              +---------- ISP 1 (PREFIXisp1) ----------+
#   198.18.1.2 | 198.18.1.1                198.18.11.1 | 198.18.11.2
#   +----------+                                        +-----------+
#   | site A   |                                        |  site B   |
#   | PREFIXa  |  tap0 198.19.0.1/24    tap0 198.19.0.2/24 PREFIXb  |
#   +----------+                                        +-----------+
#   198.18.2.2 | 198.18.2.1                 198.18.12.1 | 198.18.12.2
#              +---------- ISP 2 (PREFIXisp2) ----------+
#
# IPv6 runs in parallel: 2001:db8:N::/64 on the link whose IPv4 network
# is 198.18.N.0/24, and 2001:db8:19::/64 on the virtual segment.  Only
# addresses reserved for benchmarking (198.18.0.0/15) and documentation
# (2001:db8::/32) are used, and no namespace has a link to the host or
# a default route: nothing leaves.  The tap interfaces on the virtual
# segment are made by marconid itself, not here.
#
# Inside a site the uplinks are called isp1 and isp2; inside an ISP its
# links are called sitea and siteb.  Every name in the host is prefixed
# by the caller's PREFIX (for instance "mc$$"), so that two runs at the
# same time do not collide.
#
#	topo_create PREFIX		build it all (undoes itself on failure)
#	topo_destroy PREFIX		remove it all; safe to call at any time
#	isp_cut PREFIX N		ISP N drops everything it should forward
#	isp_restore PREFIX N		ISP N forwards again, without loss
#	isp_loss PREFIX N PERCENT	ISP N drops PERCENT % at random of what
#					it forwards, in each direction
#	topo_ping NS ADDR [TRIES]	true once ADDR answers from NS
#	topo_noping NS ADDR [TRIES]	true if ADDR never answers from NS
#	topo_wait SECONDS COMMAND...	true once COMMAND succeeds
#	topo_alive PID			true while PID runs (not a zombie)
#	site_identity DIR NAME		DIR/NAME.crt and DIR/NAME.key
#	site_fingerprint CERT		prints SHA256:<hex> of the certificate
#	site_conf SITE FILE CERT KEY FPR [PREF1 PREF2 [IFNAME PORT]]
#					writes marconid.conf of site a or b
#	site_conf1 SITE FILE CERT KEY FPR [REMOTE]
#					the same with uplink isp1 only; REMOTE
#					"-" makes its pipe passive
#	site_conf_global FILE OPTION	adds a global OPTION (as "holddown
#					3s") to a file that site_conf or
#					site_conf1 wrote
#	site_conf_peer FILE OPTION	adds OPTION to its peer block; a
#					"mode" replaces the one there
#	site_conf_no_uplink FILE NAME	removes uplink NAME and the pipe
#					over it from a file that site_conf
#					wrote
#	isp_nat PREFIX N SITE		ISP N puts SITE behind a NAT: it
#					masquerades what SITE sends to the
#					other site and lets nothing new in
#	isp_nat_packets PREFIX N	prints how many connections ISP N
#					has masqueraded
#	isp_dup PREFIX N SITE PORT	ISP N forwards every UDP datagram to
#					SITE's port PORT twice
#	isp_nodup PREFIX N		and once again
#	isp_count_fragments PREFIX N	ISP N counts the IPv4 and IPv6
#					fragments that reach it, from 0
#	isp_fragments PREFIX N		prints that count
#
# Every loop here is bounded in count and in time.

TOPO_NS="a b isp1 isp2"

# 198.18.N.0/24 and 2001:db8:N::/64 for the link between site S and ISP I
_topo_net() {
	case "$1$2" in
	a1)	echo 1 ;;
	a2)	echo 2 ;;
	b1)	echo 11 ;;
	b2)	echo 12 ;;
	esac
}

_topo_err() {
	echo "topology: $*" >&2
}

_topo_check_prefix() {
	case "$1" in
	""|*[!A-Za-z0-9_-]*)
		_topo_err "bad prefix \"$1\": letters, digits, - and _ only"
		return 1
		;;
	esac
	return 0
}

_topo_ns_exists() {
	[ -e "/var/run/netns/$1" ] || [ -e "/run/netns/$1" ]
}

_topo_in() {
	_ns=$1
	shift
	ip netns exec "$_ns" "$@"
}

topo_create() {
	_topo_check_prefix "$1" || return 1
	_p=$1

	for _n in $TOPO_NS; do
		if _topo_ns_exists "$_p$_n"; then
			_topo_err "namespace $_p$_n exists already"
			return 1
		fi
	done
	if ! _topo_build "$_p"; then
		_topo_err "could not build the topology for $_p; removing it"
		topo_destroy "$_p"
		return 1
	fi
	return 0
}

_topo_build() {
	_p=$1

	for _n in $TOPO_NS; do
		ip netns add "$_p$_n" || return 1
		ip -n "$_p$_n" link set lo up || return 1
	done

	# the ISPs are routers; the sites are not
	for _i in 1 2; do
		_topo_in "${_p}isp$_i" sysctl -q -w net.ipv4.ip_forward=1 \
		    net.ipv6.conf.all.forwarding=1 >/dev/null || return 1
	done

	for _s in a b; do
		for _i in 1 2; do
			_net=$(_topo_net "$_s" "$_i")
			# made straight inside the namespaces: no
			# name is ever taken in the host
			ip link add "isp$_i" netns "$_p$_s" type veth \
			    peer name "site$_s" netns "${_p}isp$_i" || return 1
			ip -n "$_p$_s" addr add "198.18.$_net.2/24" \
			    dev "isp$_i" || return 1
			ip -n "$_p$_s" addr add "2001:db8:$_net::2/64" \
			    dev "isp$_i" nodad || return 1
			ip -n "${_p}isp$_i" addr add "198.18.$_net.1/24" \
			    dev "site$_s" || return 1
			ip -n "${_p}isp$_i" addr add "2001:db8:$_net::1/64" \
			    dev "site$_s" nodad || return 1
			ip -n "$_p$_s" link set "isp$_i" up || return 1
			ip -n "${_p}isp$_i" link set "site$_s" up || return 1
		done
	done

	# each site reaches the other's uplink N through its own uplink N
	for _s in a b; do
		case "$_s" in
		a)	_o=b ;;
		b)	_o=a ;;
		esac
		for _i in 1 2; do
			_net=$(_topo_net "$_s" "$_i")
			_onet=$(_topo_net "$_o" "$_i")
			ip -n "$_p$_s" route add "198.18.$_onet.0/24" \
			    via "198.18.$_net.1" dev "isp$_i" || return 1
			ip -n "$_p$_s" -6 route add "2001:db8:$_onet::/64" \
			    via "2001:db8:$_net::1" dev "isp$_i" || return 1
		done
	done
	return 0
}

# Ends what still runs in the namespaces (by PID, as listed by the
# kernel for each namespace), then removes them; removing a namespace
# takes its links, taps and nftables tables with it.
topo_destroy() {
	_topo_check_prefix "$1" || return 1
	# shellcheck disable=SC2086 # a list of names
	_topo_destroy_ns "$1" $TOPO_NS
}

# _topo_destroy_ns PREFIX NAME...: the same for namespaces PREFIX.NAME,
# for the other topologies (mesh.sh)
_topo_destroy_ns() {
	_p=$1
	shift
	_nslist=$*

	for _sig in TERM KILL; do
		_left=""
		for _n in $_nslist; do
			_topo_ns_exists "$_p$_n" || continue
			_left="$_left $(ip netns pids "$_p$_n" 2>/dev/null)"
		done
		[ -n "$(echo "$_left" | tr -d ' ')" ] || break
		# shellcheck disable=SC2086 # a list of PIDs
		kill -s "$_sig" $_left 2>/dev/null
		_t=0
		while [ "$_t" -lt 30 ]; do
			_alive=""
			for _pid in $_left; do
				topo_alive "$_pid" && _alive="$_alive $_pid"
			done
			[ -z "$_alive" ] && break
			sleep 0.1
			_t=$((_t + 1))
		done
	done

	_rc=0
	for _n in $_nslist; do
		if _topo_ns_exists "$_p$_n"; then
			ip netns del "$_p$_n" 2>/dev/null
		fi
		if _topo_ns_exists "$_p$_n"; then
			_topo_err "namespace $_p$_n is still there"
			_rc=1
		fi
	done
	return "$_rc"
}

# An outage is a black hole inside the ISP: its links stay up, it just
# stops forwarding, as a real ISP does; the sites see no link change.
isp_cut() {
	_topo_check_prefix "$1" || return 1
	_topo_in "$1isp$2" nft -f - <<EOF
table inet marconi_outage
delete table inet marconi_outage
table inet marconi_outage {
	chain forward {
		type filter hook forward priority filter; policy accept;
		counter drop
	}
}
EOF
}

isp_restore() {
	_topo_check_prefix "$1" || return 1
	# adding an empty table first makes the deletion always succeed
	_topo_in "$1isp$2" nft -f - <<EOF
table inet marconi_outage
delete table inet marconi_outage
table inet marconi_loss
delete table inet marconi_loss
EOF
}

isp_loss() {
	_topo_check_prefix "$1" || return 1
	case "$3" in
	""|*[!0-9]*)
		_topo_err "isp_loss: bad percentage \"$3\""
		return 1
		;;
	esac
	if [ "$3" -gt 100 ]; then
		_topo_err "isp_loss: bad percentage \"$3\""
		return 1
	fi
	if [ "$3" -eq 100 ]; then
		_match=""
	else
		_match="numgen random mod 100 < $3 "
	fi
	_topo_in "$1isp$2" nft -f - <<EOF
table inet marconi_loss
delete table inet marconi_loss
table inet marconi_loss {
	chain forward {
		type filter hook forward priority filter; policy accept;
		${_match}counter drop
	}
}
EOF
}

# One echo request a second at most, TRIES times (5 unless told).
topo_ping() {
	_t=0
	while [ "$_t" -lt "${3:-5}" ]; do
		if _topo_in "$1" ping -n -q -c 1 -W 1 "$2" >/dev/null 2>&1; then
			return 0
		fi
		_t=$((_t + 1))
	done
	return 1
}

topo_noping() {
	_t=0
	while [ "$_t" -lt "${3:-3}" ]; do
		if _topo_in "$1" ping -n -q -c 1 -W 1 "$2" >/dev/null 2>&1; then
			return 1
		fi
		_t=$((_t + 1))
	done
	return 0
}

# True while process PID exists and has not exited (a zombie has).
topo_alive() {
	[ -r "/proc/$1/status" ] || return 1
	! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# Polls COMMAND ten times a second for at most SECONDS.
topo_wait() {
	_max=$(($1 * 10))
	shift
	_t=0
	while [ "$_t" -lt "$_max" ]; do
		if "$@"; then
			return 0
		fi
		sleep 0.1
		_t=$((_t + 1))
	done
	"$@"
}

# A site's identity: a self-signed P-256 certificate; the other site
# pins it by fingerprint, no CA is involved.
site_identity() {
	(
		umask 077
		openssl req -x509 -newkey ec \
		    -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
		    -subj "/CN=$2" -keyout "$1/$2.key" -out "$1/$2.crt" \
		    >/dev/null 2>&1
	) || {
		_topo_err "openssl could not make the identity of $2"
		return 1
	}
	chmod 0644 "$1/$2.crt"
}

# SHA256: and the lowercase hex of SHA-256 over the DER certificate.
site_fingerprint() {
	_h=$(openssl x509 -in "$1" -outform DER |
	    openssl dgst -sha256 -r | cut -d' ' -f1) || return 1
	[ -n "$_h" ] || return 1
	echo "SHA256:$_h"
}

# site_conf SITE FILE CERT KEY PEER_FPR [PREF1 PREF2 [IFNAME PORT]]
# writes the marconid.conf of site a or b (mode 0600: it names a key).
site_conf() {
	_s=$1
	_f=$2
	_pref1=${6:-10}
	_pref2=${7:-20}
	_if=${8:-tap0}
	_port=${9:-7455}
	case "$_s" in
	a)	_o=b; _me=1 ;;
	b)	_o=a; _me=2 ;;
	*)	_topo_err "site_conf: site a or b, not \"$_s\""; return 1 ;;
	esac
	(
		umask 077
		cat > "$_f" <<EOF
# marconid.conf of site $_s

port $_port
certificate "$3"
key "$4"

interface $_if { address 198.19.0.$_me/24  address 2001:db8:19::$_me/64 }

uplink isp1 { local 198.18.$(_topo_net "$_s" 1).2 }
uplink isp2 { local 198.18.$(_topo_net "$_s" 2).2 }

peer site-$_o {
	fingerprint "$5"
	mode failover
	pipe isp1 remote 198.18.$(_topo_net "$_o" 1).2 preference $_pref1
	pipe isp2 remote 198.18.$(_topo_net "$_o" 2).2 preference $_pref2
}
EOF
	) || return 1
	chmod 0600 "$_f"
}

# site_conf1 SITE FILE CERT KEY PEER_FPR [REMOTE]: as site_conf, with
# uplink isp1 only and one pipe over it, to the other site's isp1
# address unless REMOTE says otherwise; "-" makes the pipe passive (it
# waits for the peer to connect, as a site facing a peer behind NAT).
site_conf1() {
	_s=$1
	_f=$2
	case "$_s" in
	a)	_o=b; _me=1 ;;
	b)	_o=a; _me=2 ;;
	*)	_topo_err "site_conf1: site a or b, not \"$_s\""; return 1 ;;
	esac
	case "${6:-}" in
	"")	_remote=" remote 198.18.$(_topo_net "$_o" 1).2" ;;
	-)	_remote="" ;;
	*)	_remote=" remote $6" ;;
	esac
	(
		umask 077
		cat > "$_f" <<EOF
# marconid.conf of site $_s, over ISP 1 only

certificate "$3"
key "$4"

interface tap0 { address 198.19.0.$_me/24  address 2001:db8:19::$_me/64 }

uplink isp1 { local 198.18.$(_topo_net "$_s" 1).2 }

peer site-$_o {
	fingerprint "$5"
	pipe isp1$_remote
}
EOF
	) || return 1
	chmod 0600 "$_f"
}

# _site_conf_edit FILE AWK-PROGRAM [ARGS...]: rewrites FILE through awk,
# keeping it mode 0600; the file is left as it was when awk fails.
_site_conf_edit() {
	_f=$1
	shift
	(
		umask 077
		awk "$@" "$_f" > "$_f.new"
	) || {
		rm -f "$_f.new"
		_topo_err "cannot edit $_f"
		return 1
	}
	chmod 0600 "$_f.new" && mv "$_f.new" "$_f"
}

# site_conf_global FILE OPTION: OPTION among the global settings, in
# front of the interface section.
site_conf_global() {
	# shellcheck disable=SC2016 # an awk program
	_site_conf_edit "$1" -v opt="$2" '
	    /^interface / && !done { print opt; print ""; done = 1 }
	    { print }
	    END { if (!done) exit 1 }'
}

# site_conf_peer FILE OPTION: OPTION at the end of the peer block (the
# last block of the file); a "mode" OPTION replaces the mode there, as
# a peer takes only one.
site_conf_peer() {
	# shellcheck disable=SC2016 # an awk program
	_site_conf_edit "$1" -v opt="$2" '
	    { line[NR] = $0 }
	    /^peer / { peer = NR }
	    /^}/ { last = NR }
	    END {
		if (peer == 0 || last < peer)
			exit 1
		split(opt, w, " ")
		for (i = 1; i <= NR; i++) {
			if (i == last)
				print "\t" opt
			split(line[i], v, " ")
			if (i > peer && i < last && w[1] == "mode" &&
			    v[1] == "mode")
				continue
			print line[i]
		}
	    }'
}

# site_conf_no_uplink FILE NAME: FILE without the uplink NAME nor the
# pipe over it, as if site_conf had never written them; fails when FILE
# has no such uplink.
site_conf_no_uplink() {
	# shellcheck disable=SC2016 # an awk program
	_site_conf_edit "$1" -v u="$2" '
	    $1 == "uplink" && $2 == u { found = 1; next }
	    $1 == "pipe" && $2 == u { next }
	    { print }
	    END { if (!found) exit 1 }'
}

# isp_nat PREFIX N SITE: ISP N hides SITE behind its own address on
# the link to the other site, as a NAT gateway does: what SITE sends
# there leaves with the ISP's address (and a port of the ISP's choosing
# when its own is taken), only the answers come back, and nothing the
# other site starts reaches SITE.
isp_nat() {
	_topo_check_prefix "$1" || return 1
	case "$3" in
	a)	_o=b ;;
	b)	_o=a ;;
	*)	_topo_err "isp_nat: site a or b, not \"$3\""; return 1 ;;
	esac
	_net=$(_topo_net "$3" "$2")
	_topo_in "$1isp$2" nft -f - <<EOF
table inet marconi_nat
delete table inet marconi_nat
table inet marconi_nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "site$_o" ip saddr 198.18.$_net.0/24 counter masquerade
		oifname "site$_o" ip6 saddr 2001:db8:$_net::/64 counter masquerade
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "site$_o" oifname "site$3" ct state new counter drop
	}
}
EOF
}

# The first packets of the connections masqueraded so far (a NAT chain
# sees only those), IPv4 and IPv6 added up.
isp_nat_packets() {
	_topo_check_prefix "$1" || return 1
	_topo_in "$1isp$2" nft list table inet marconi_nat 2>/dev/null |
	    awk '/masquerade/ { for (i = 1; i < NF; i++)
		if ($i == "packets") n += $(i + 1) } END { print n + 0 }'
}

# isp_dup PREFIX N SITE PORT: ISP N sends every UDP datagram bound for
# port PORT of SITE's uplink N twice, as a faulty link or an attacker
# replaying what it saw would.
isp_dup() {
	_topo_check_prefix "$1" || return 1
	case "$3" in
	a|b)	;;
	*)	_topo_err "isp_dup: site a or b, not \"$3\""; return 1 ;;
	esac
	_net=$(_topo_net "$3" "$2")
	# the copy goes straight out of the link to the site
	_topo_in "$1isp$2" nft -f - <<EOF
table ip marconi_dup
delete table ip marconi_dup
table ip marconi_dup {
	chain forward {
		type filter hook forward priority filter; policy accept;
		ip daddr 198.18.$_net.2 udp dport $4 counter \
		    dup to 198.18.$_net.2 device "site$3"
	}
}
EOF
}

isp_nodup() {
	_topo_check_prefix "$1" || return 1
	_topo_in "$1isp$2" nft -f - <<EOF
table ip marconi_dup
delete table ip marconi_dup
EOF
}

# Counts the IP fragments (IPv4 with more-fragments or an offset, IPv6
# with a fragment header) that reach ISP N: a tunnel that fits its
# datagrams to the path makes none.  They are counted as they come in,
# before connection tracking (when a NAT needs it) puts them together.
isp_count_fragments() {
	_topo_check_prefix "$1" || return 1
	_topo_in "$1isp$2" nft -f - <<EOF
table inet marconi_frag
delete table inet marconi_frag
table inet marconi_frag {
	chain prerouting {
		type filter hook prerouting priority -450; policy accept;
		ip frag-off & 0x3fff != 0 counter
		exthdr frag exists counter
	}
}
EOF
}

isp_fragments() {
	_topo_check_prefix "$1" || return 1
	_topo_in "$1isp$2" nft list table inet marconi_frag 2>/dev/null |
	    awk '{ for (i = 1; i < NF; i++)
		if ($i == "packets") n += $(i + 1) } END { print n + 0 }'
}

# ---------------------------------------------------------------------
# A third party on the Internet, and a link that is full
#
#	attacker_create PREFIX N	a namespace PREFIXatk, the attacker,
#					hung off ISP N: 198.18.2N.2/24 and
#					2001:db8:2N::2/64 on its link "isp"
#					(the ISP is .1); it reaches every
#					address of the topology, and both
#					sites can answer it
#	attacker_destroy PREFIX		ends what runs in it, removes it;
#					call it before topo_destroy, which
#					does not know it; safe at any time
#	attacker_addr N			prints the attacker's IPv4 address
#	isp_count_attacker PREFIX N SITE PORT
#					ISP N counts, from 0, the UDP and the
#					TCP packets from the attacker to
#					SITE's uplink N at PORT that it
#					forwards
#	isp_attacker_packets PREFIX N udp|tcp
#					prints that count
#	isp_tbf PREFIX N SITE RATE	ISP N sends towards SITE at RATE at
#					most (tc tbf, e.g. "4mbit"), queueing
#					up to 100 ms of it and dropping the rest
#	isp_notbf PREFIX N SITE		and at the link's speed again

attacker_addr() {
	echo "198.18.2$1.2"
}

attacker_create() {
	_topo_check_prefix "$1" || return 1
	case "$2" in
	1|2)	;;
	*)	_topo_err "attacker_create: ISP 1 or 2, not \"$2\""; return 1 ;;
	esac
	if _topo_ns_exists "$1atk"; then
		_topo_err "namespace $1atk exists already"
		return 1
	fi
	if ! _topo_attacker_build "$1" "$2"; then
		_topo_err "could not build the attacker of $1; removing it"
		attacker_destroy "$1"
		return 1
	fi
	return 0
}

_topo_attacker_build() {
	_p=$1
	_net=2$2
	ip netns add "${_p}atk" || return 1
	ip -n "${_p}atk" link set lo up || return 1
	ip link add isp netns "${_p}atk" type veth \
	    peer name attacker netns "${_p}isp$2" || return 1
	ip -n "${_p}atk" addr add "198.18.$_net.2/24" dev isp || return 1
	ip -n "${_p}atk" addr add "2001:db8:$_net::2/64" dev isp nodad ||
	    return 1
	ip -n "${_p}isp$2" addr add "198.18.$_net.1/24" dev attacker ||
	    return 1
	ip -n "${_p}isp$2" addr add "2001:db8:$_net::1/64" dev attacker \
	    nodad || return 1
	ip -n "${_p}atk" link set isp up || return 1
	ip -n "${_p}isp$2" link set attacker up || return 1
	# the whole benchmarking range, not a default route
	ip -n "${_p}atk" route add 198.18.0.0/15 via "198.18.$_net.1" ||
	    return 1
	ip -n "${_p}atk" -6 route add 2001:db8::/32 via "2001:db8:$_net::1" ||
	    return 1
	# the sites answer it through ISP N, as they would on the Internet
	for _s in a b; do
		_snet=$(_topo_net "$_s" "$2")
		ip -n "$_p$_s" route add "198.18.$_net.0/24" \
		    via "198.18.$_snet.1" dev "isp$2" || return 1
		ip -n "$_p$_s" -6 route add "2001:db8:$_net::/64" \
		    via "2001:db8:$_snet::1" dev "isp$2" || return 1
	done
	return 0
}

attacker_destroy() {
	_topo_check_prefix "$1" || return 1
	_topo_ns_exists "$1atk" || return 0
	for _sig in TERM KILL; do
		_left=$(ip netns pids "$1atk" 2>/dev/null)
		[ -n "$_left" ] || break
		# shellcheck disable=SC2086 # a list of PIDs
		kill -s "$_sig" $_left 2>/dev/null
		_t=0
		while [ "$_t" -lt 30 ]; do
			_alive=""
			for _pid in $_left; do
				topo_alive "$_pid" && _alive="$_alive $_pid"
			done
			[ -z "$_alive" ] && break
			sleep 0.1
			_t=$((_t + 1))
		done
	done
	ip netns del "$1atk" 2>/dev/null
	if _topo_ns_exists "$1atk"; then
		_topo_err "namespace $1atk is still there"
		return 1
	fi
	return 0
}

isp_count_attacker() {
	_topo_check_prefix "$1" || return 1
	_net=$(_topo_net "$3" "$2")
	[ -n "$_net" ] || {
		_topo_err "isp_count_attacker: site a or b, not \"$3\""
		return 1
	}
	_topo_in "$1isp$2" nft -f - <<EOF
table inet marconi_attacker
delete table inet marconi_attacker
table inet marconi_attacker {
	counter atk_udp { }
	counter atk_tcp { }
	chain forward {
		type filter hook forward priority filter - 10; policy accept;
		iifname "attacker" ip daddr 198.18.$_net.2 udp dport $4 \
		    counter name "atk_udp"
		iifname "attacker" ip daddr 198.18.$_net.2 tcp dport $4 \
		    counter name "atk_tcp"
	}
}
EOF
}

isp_attacker_packets() {
	_topo_check_prefix "$1" || return 1
	_topo_in "$1isp$2" nft list counter inet marconi_attacker "atk_$3" \
	    2>/dev/null | awk '{ for (i = 1; i < NF; i++)
		if ($i == "packets") n += $(i + 1) } END { print n + 0 }'
}

isp_tbf() {
	_topo_check_prefix "$1" || return 1
	_topo_in "$1isp$2" tc qdisc replace dev "site$3" root tbf \
	    rate "$4" burst 16kb latency 100ms
}

isp_notbf() {
	_topo_check_prefix "$1" || return 1
	_topo_in "$1isp$2" tc qdisc del dev "site$3" root 2>/dev/null
	return 0
}
