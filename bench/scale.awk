# The report of bench/scale, in markdown: each figure beside its target,
# then the hub's processes one by one.  Input: raw.txt of a scale run,
# one "FIGURE VALUE" line per measurement (FIGURE.ROLE for one of the
# hub's processes).  Variables: n (spokes), t_up (s), t_cpu (% of a
# core), t_priv (MB): the targets; up_wait, the seconds waited.

function mb(kb) {
	return kb == "" ? "-" : sprintf("%.1f", kb / 1024)
}

function num(x) {
	return x == "" ? "-" : x
}

function target(what, measured, wanted, ok, miss) {
	printf("| %s | %s | %s | %s |\n", what, measured, wanted,
	    ok ? "met" : "missed by " miss)
}

NF == 2 {
	v[$1] = $2
	if (split($1, a, ".") == 2 && !(a[2] in seen)) {
		seen[a[2]] = 1
		roles[++nroles] = a[2]
	}
}

END {
	up = v["up_s"]
	cpu = v["cpu_rest_pct"]
	priv = v["private_rest_kb"]
	if (v["private_pings_kb"] + 0 > priv + 0)
		priv = v["private_pings_kb"]
	pairs = v["ping_pairs"]
	ok = v["ping_answered"]

	print "| figure | measured | target | |"
	print "| --- | ---: | --- | --- |"
	if (up == "" || up < 0)
		target("every pipe up at the hub, s after the start",
		    "not in " up_wait " s: " num(v["up_after_wait"]) \
		    " of " 2 * n, "<= " t_up " s", 0, "all of it")
	else
		target("every pipe up at the hub, s after the start", up,
		    "<= " t_up " s", up <= t_up,
		    sprintf("%.1f s", up - t_up))
	target("hub CPU at rest (probes only), % of one core", num(cpu),
	    "< " t_cpu " % (set for 32 spokes)", cpu != "" && cpu < t_cpu,
	    sprintf("%.2f %%", cpu - t_cpu))
	target("hub's own pages (Private_Clean + Private_Dirty), MB, " \
	    "the larger of at rest and after the pings", mb(priv),
	    "< " t_priv " MB", priv != "" && priv / 1024 < t_priv,
	    sprintf("%.1f MB", priv / 1024 - t_priv))
	target("pairs of spokes that answered a ping through the hub",
	    num(ok) " of " num(pairs), "all", ok != "" && ok == pairs,
	    pairs - ok " pairs")
	printf("| hub VmRSS (with the shared libraries of each process), " \
	    "MB, after the pings | %s | - | |\n", mb(v["rss_pings_kb"]))
	print ""
	print "## The hub's processes"
	print ""
	print "CPU at rest over " num(v["idle_s"]) " s, in % of one core" \
	    " (user and system apart), and the context switches per" \
	    " second; memory at rest and after the pings, in MB."
	print ""
	print "| process | CPU % | user % | system % | switches/s |" \
	    " VmRSS | own pages | VmRSS after pings | own pages after pings |"
	print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for (i = 1; i <= nroles; i++) {
		r = roles[i]
		if (r ~ /^restarted/)
			continue
		printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
		    r, num(v["cpu_rest_pct." r]),
		    num(v["cpu_rest_user_pct." r]),
		    num(v["cpu_rest_sys_pct." r]),
		    num(v["wakeups_per_s." r]), mb(v["rss_rest_kb." r]),
		    mb(v["private_rest_kb." r]), mb(v["rss_pings_kb." r]),
		    mb(v["private_pings_kb." r]))
	}
	printf("| all | %s | %s | %s | %s | %s | %s | %s | %s |\n",
	    num(cpu), num(v["cpu_rest_user_pct"]), num(v["cpu_rest_sys_pct"]),
	    num(v["wakeups_per_s"]), mb(v["rss_rest_kb"]),
	    mb(v["private_rest_kb"]), mb(v["rss_pings_kb"]),
	    mb(v["private_pings_kb"]))
	print ""
	for (r in v)
		if (r ~ /^restarted\./)
			print "- restarted during the rest, left out: " \
			    substr(r, 11)
	print "- UDP datagrams of the hub at rest, per second: " \
	    num(v["udp_in_per_s"]) " in, " num(v["udp_out_per_s"]) " out"
	print "- UDP datagrams the hub dropped for a full receive buffer" \
	    " during the pings: " num(v["ping_hub_rcvbuf_drops"])
	print "- ARP entries the kernel refused for a full table during" \
	    " the pings: " num(v["ping_neigh_fulls"]) "; its bound" \
	    " (gc_thresh3, one for every namespace) " \
	    (v["neigh_max_run"] != "" ? "raised from " \
	    v["neigh_max_before"] " to " v["neigh_max_run"] " for the run" : \
	    "left at " num(v["neigh_max_before"]))
	print "- one spoke (s1, two pipes) at rest: " \
	    num(v["spoke_cpu_rest_pct"]) " % of one core"
	print "- the daemons took " num(v["start_s"]) " s to start;" \
	    " the pings of every pair took " num(v["ping_s"]) " s;" \
	    " pipes up at the hub at the end: " num(v["pipes_up_end"]) \
	    " of " 2 * n
}
