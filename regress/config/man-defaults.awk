# The defaults marconid.conf(5) states, as "name value" lines, for
# config_test.sh:manual_defaults to compare with marconid -nv.  It reads
# the mdoc source and knows the manual's sentences:
#
#	.It Ic NAME ...		an item; in the INTERFACES and UPLINKS
#				sections its options are "interface.NAME"
#				and "uplink.NAME"
#	The default is V	the item's default (or on the next line, a
#				.Pa path, .Dq word or .Ic keyword)
#	by default V		after ".Ic NAME ," or ".Ar time ,": that
#				option's; "V by default" likewise
#	This is the default.	the item (a mode) is the default
#	.Ic WORD , / the default	that word is the item's default
#
# A sentence it does not know is not read: the test fails on a default
# it finds missing, so a manual reworded loses no check silently.

function item_name(line,	w) {
	split(line, w, " ")
	# ".It Ic name ..." or ".It Xo" followed by ".Ic name"
	return (w[2] == "Ic" ? w[3] : "")
}
function put(name, v) {
	sub(/[.,;]$/, "", v)
	if (section == "INTERFACES" && name != "interface")
		name = "interface." name
	else if (section == "UPLINKS" && name != "uplink")
		name = "uplink." name
	if (!(name in seen))
		print name, v
	seen[name] = 1
}
/^\.Sh / { section = $2; item = ""; next }
/^\.It Xo/ { xo = 1; next }
xo && /^\.Ic / { item = $2; xo = 0; prev = $0; next }
/^\.It / { item = item_name($0); if (item == "") item = $3; prev = $0; next }
want_path && /^\.(Pa|Dq|Ic) / { put(want_path, $2); want_path = ""; prev = $0; next }
want_path { want_path = "" }
/The default is$/ { want_path = item; prev = $0; next }
/The default is [^ ]/ {
	match($0, /The default is [^ ;]+/)
	v = substr($0, RSTART + 15, RLENGTH - 15)
	if (v != "the")
		put(item, v)
	prev = $0
	next
}
/by default [0-9]/ {
	match($0, /by default [0-9][^ ,;]*/)
	v = substr($0, RSTART + 11, RLENGTH - 11)
	split(prev, w, " ")
	if (w[1] == ".Ic")
		put(w[2], v)
	else if (w[1] == ".Ar")
		put(item "." w[2], v)
	else
		put(item, v)
	prev = $0
	next
}
/^[0-9][^ ]* by default/ {
	split(prev, w, " ")
	put(item "." w[2], $1)
	prev = $0
	next
}
/[0-9][^ ]* by default/ {
	match($0, /[0-9][^ ]* by default/)
	v = substr($0, RSTART, RLENGTH - 11)
	split(prev, w, " ")
	put(item "." w[2], v)
	prev = $0
	next
}
/^This is the default\.$/ { put("mode", item); prev = $0; next }
/^the default, / {
	split(prev, w, " ")
	if (w[1] == ".Ic")
		put(item, w[2])
	prev = $0
	next
}
{ prev = $0 }
