# Several sites, each with two ISPs, in Linux network namespaces: a
# shell library sourced by the end-to-end tests, after topology.sh
# (whose helpers it uses).  Not run on its own.
#
# Sites a, b, c (and d when asked for) each have uplinks isp1 and isp2;
# ISP N is one router with a link to every site:
#
#   site S (S = 1 for a, 2 for b, ...) to ISP I: 198.18.(16*I+S).0/24,
#   the site .2, the ISP .1; IPv6 2001:db8:(16*I+S)::/64 likewise;
#   each site reaches every other site's uplink I through its own.
#   The virtual segment: 198.19.0.S/24 on tap0, made by marconid.
#
# Every namespace name is prefixed by the caller's PREFIX, as in
# topology.sh, so that runs at the same time do not collide.
#
#	mesh_create PREFIX SITES	build it ("a b c" or "a b c d")
#	mesh_destroy PREFIX		remove it all; safe at any time
#	mesh_cut PREFIX SITE N		ISP N drops all that SITE sends or
#					gets, as if its line were cut
#	mesh_restore PREFIX SITE N	and forwards it again
#	mesh_conf SITE FILE DIR SITES...
#					marconid.conf of SITE, with a peer
#					block for each of SITES in that
#					order; DIR holds site-X.crt and
#					site-X.key (site_identity)
#	mesh_tun_conf SITE FILE DIR SITES...
#					the same over tun0, in the shape of
#					the tun mesh of marconid.conf(5):
#					site S owns 198.19.S.0/24 and
#					2001:db8:19:S::/64, its tun0 has .1
#					alone, each peer block names the
#					peer's networks
#	mesh_tun_example TOP SITE FILE	SITE's file of the tun mesh of
#					marconid.conf(5), as the page in the
#					tree TOP gives it
#	mesh_host PREFIX HOST SITE MAC ADDR
#					a host on SITE's segment: namespace
#					PREFIX+HOST (HOST is h1 or h2) with a
#					macvlan of SITE's tap0, Ethernet
#					address MAC, ADDR/24; run again with
#					another SITE, the host moves there
#	mesh_host_detach PREFIX HOST	takes the host off the segment
#
# Every loop here is bounded in count and in time.

MESH_SITES_ALL="a b c d"
MESH_HOSTS="h1 h2"

_mesh_idx() {
	case "$1" in
	a)	echo 1 ;;
	b)	echo 2 ;;
	c)	echo 3 ;;
	d)	echo 4 ;;
	*)	_topo_err "mesh: no site \"$1\""; return 1 ;;
	esac
}

# the network number of SITE's link to ISP N
_mesh_net() {
	_mi=$(_mesh_idx "$1") || return 1
	echo $((16 * $2 + _mi))
}

mesh_create() {
	_topo_check_prefix "$1" || return 1
	_mp=$1
	_msites=$2
	for _n in $_msites isp1 isp2; do
		if _topo_ns_exists "$_mp$_n"; then
			_topo_err "namespace $_mp$_n exists already"
			return 1
		fi
	done
	if ! _mesh_build "$_mp" "$_msites"; then
		_topo_err "could not build the mesh for $_mp; removing it"
		mesh_destroy "$_mp"
		return 1
	fi
	return 0
}

_mesh_build() {
	_mp=$1
	_msites=$2
	for _n in $_msites isp1 isp2; do
		ip netns add "$_mp$_n" || return 1
		ip -n "$_mp$_n" link set lo up || return 1
	done
	for _i in 1 2; do
		_topo_in "${_mp}isp$_i" sysctl -q -w net.ipv4.ip_forward=1 \
		    net.ipv6.conf.all.forwarding=1 >/dev/null || return 1
	done
	for _s in $_msites; do
		for _i in 1 2; do
			_net=$(_mesh_net "$_s" "$_i") || return 1
			ip link add "isp$_i" netns "$_mp$_s" type veth \
			    peer name "site$_s" netns "${_mp}isp$_i" || return 1
			ip -n "$_mp$_s" addr add "198.18.$_net.2/24" \
			    dev "isp$_i" || return 1
			ip -n "$_mp$_s" addr add "2001:db8:$_net::2/64" \
			    dev "isp$_i" nodad || return 1
			ip -n "${_mp}isp$_i" addr add "198.18.$_net.1/24" \
			    dev "site$_s" || return 1
			ip -n "${_mp}isp$_i" addr add "2001:db8:$_net::1/64" \
			    dev "site$_s" nodad || return 1
			ip -n "$_mp$_s" link set "isp$_i" up || return 1
			ip -n "${_mp}isp$_i" link set "site$_s" up || return 1
		done
	done
	for _s in $_msites; do
		for _o in $_msites; do
			[ "$_s" = "$_o" ] && continue
			for _i in 1 2; do
				_net=$(_mesh_net "$_s" "$_i")
				_onet=$(_mesh_net "$_o" "$_i")
				ip -n "$_mp$_s" route add "198.18.$_onet.0/24" \
				    via "198.18.$_net.1" dev "isp$_i" ||
				    return 1
				ip -n "$_mp$_s" -6 route add \
				    "2001:db8:$_onet::/64" \
				    via "2001:db8:$_net::1" dev "isp$_i" ||
				    return 1
			done
		done
	done
	return 0
}

# Ends what still runs in the namespaces (by PID, as the kernel lists
# them for each), then removes them, as topo_destroy does.
mesh_destroy() {
	_topo_check_prefix "$1" || return 1
	# shellcheck disable=SC2086 # a list of names
	_topo_destroy_ns "$1" isp1 isp2 $MESH_SITES_ALL $MESH_HOSTS
}

# A host is a namespace of its own whose one interface is a macvlan of
# a site's tap0: what it sends goes out of that tap to marconid, what
# marconid writes to the tap for its address reaches it.
mesh_host() {
	_topo_check_prefix "$1" || return 1
	case "$2" in
	h1|h2)	;;
	*)	_topo_err "mesh: no host \"$2\""; return 1 ;;
	esac
	_mh="$1$2"
	if ! _topo_ns_exists "$_mh"; then
		ip netns add "$_mh" || return 1
		ip -n "$_mh" link set lo up || return 1
	fi
	mesh_host_detach "$1" "$2"
	ip -n "$1$3" link add "mv$2" link tap0 type macvlan mode bridge ||
	    return 1
	ip -n "$1$3" link set "mv$2" netns "$_mh" || {
		ip -n "$1$3" link del "mv$2" 2>/dev/null
		return 1
	}
	ip -n "$_mh" link set "mv$2" address "$4" || return 1
	ip -n "$_mh" addr add "$5/24" dev "mv$2" || return 1
	ip -n "$_mh" link set "mv$2" up || return 1
}

mesh_host_detach() {
	_topo_check_prefix "$1" || return 1
	if ip -n "$1$2" link show "mv$2" >/dev/null 2>&1; then
		ip -n "$1$2" link del "mv$2" || return 1
	fi
	return 0
}

# A black hole for one site's line inside ISP N: the others stay.
mesh_cut() {
	_topo_check_prefix "$1" || return 1
	_topo_in "$1isp$3" nft -f - <<EOF
table inet marconi_cut_$2
delete table inet marconi_cut_$2
table inet marconi_cut_$2 {
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "site$2" counter drop
		oifname "site$2" counter drop
	}
}
EOF
}

mesh_restore() {
	_topo_check_prefix "$1" || return 1
	_topo_in "$1isp$3" nft -f - <<EOF
table inet marconi_cut_$2
delete table inet marconi_cut_$2
EOF
}

mesh_conf() {
	_ms=$1
	_mf=$2
	_md=$3
	shift 3
	_mi=$(_mesh_idx "$_ms") || return 1
	(
		umask 077
		cat <<EOF
# marconid.conf of site $_ms in a mesh

certificate "$_md/site-$_ms.crt"
key "$_md/site-$_ms.key"

interface tap0 { address 198.19.0.$_mi/24  address 2001:db8:19::$_mi/64 }

uplink isp1 { local 198.18.$(_mesh_net "$_ms" 1).2 }
uplink isp2 { local 198.18.$(_mesh_net "$_ms" 2).2 }
EOF
		for _o in "$@"; do
			_fpr=$(site_fingerprint "$_md/site-$_o.crt") || exit 1
			cat <<EOF

peer site-$_o {
	fingerprint "$_fpr"
	mode failover
	pipe isp1 remote 198.18.$(_mesh_net "$_o" 1).2 preference 10
	pipe isp2 remote 198.18.$(_mesh_net "$_o" 2).2 preference 20
}
EOF
		done
	) > "$_mf.tmp" || { rm -f "$_mf.tmp"; return 1; }
	chmod 0600 "$_mf.tmp"
	mv "$_mf.tmp" "$_mf"
}

mesh_tun_conf() {
	_ms=$1
	_mf=$2
	_md=$3
	shift 3
	_mi=$(_mesh_idx "$_ms") || return 1
	(
		umask 077
		cat <<EOF
# marconid.conf of site $_ms in a tun mesh

certificate "$_md/site-$_ms.crt"
key "$_md/site-$_ms.key"

interface tun0 {
	type tun
	address 198.19.$_mi.1/32
	address 2001:db8:19:$_mi::1/128
}

uplink isp1 { local 198.18.$(_mesh_net "$_ms" 1).2 }
uplink isp2 { local 198.18.$(_mesh_net "$_ms" 2).2 }
EOF
		for _o in "$@"; do
			_oi=$(_mesh_idx "$_o") || exit 1
			_fpr=$(site_fingerprint "$_md/site-$_o.crt") || exit 1
			cat <<EOF

peer site-$_o {
	fingerprint "$_fpr"
	network 198.19.$_oi.0/24
	network 2001:db8:19:$_oi::/64
	pipe isp1 remote 198.18.$(_mesh_net "$_o" 1).2 preference 10
	pipe isp2 remote 198.18.$(_mesh_net "$_o" 2).2 preference 20
}
EOF
		done
	) > "$_mf.tmp" || { rm -f "$_mf.tmp"; return 1; }
	chmod 0600 "$_mf.tmp"
	mv "$_mf.tmp" "$_mf"
}

# The file of SITE in the tun mesh of marconid.conf(5)'s EXAMPLES, as
# the page gives it (scripts/man-example, example tun-SITE): its
# fingerprints, certificate and key are macros that marconid -D gives.
mesh_tun_example() {
	_top=$1
	_ms=$2
	_mf=$3
	(
		umask 077
		sh "$_top/scripts/man-example" "$_top/marconid.conf.5" \
		    "tun-$_ms"
	) > "$_mf.tmp" || { rm -f "$_mf.tmp"; return 1; }
	chmod 0600 "$_mf.tmp"
	mv "$_mf.tmp" "$_mf"
}
