# Headless Chromium for the integration tests: pages are opened from files
# with every network request refused (a proxy on a closed port, every name
# unresolvable), so a page that needs the network shows it.
#
#   browser_available           0 when chromium is installed
#   browser_dump_dom FILE OUT   the DOM after loading FILE, into OUT
#   browser_shots FILE OUT.png=Y...
#                               screenshots of a 1280x900 window scrolled
#                               to Y pixels each (lib/browser_shots.py,
#                               the DevTools protocol: headless Chromium's
#                               --screenshot does not paint a scrolled
#                               page); prints "OUT.png SCROLLY" for each
#   expect_png_not_blank NAME OUT.png
#                               a check: the PNG has more than one colour
#
# Source after lib/common.sh ($tmp).

BROWSER=${BROWSER:-chromium}

browser_available() {
	command -v "$BROWSER" >/dev/null
}

_browser_flags() {
	printf '%s\n' --no-sandbox --disable-gpu --hide-scrollbars \
		--no-first-run --disable-extensions --disable-background-networking \
		--proxy-server=127.0.0.1:9 '--host-resolver-rules=MAP * ~NOTFOUND' \
		"--user-data-dir=$tmp/chromium-profile"
}

_browser() {
	local flags

	mapfile -t flags < <(_browser_flags)
	timeout 90 "$BROWSER" --headless "${flags[@]}" "$@" 2>>"$tmp/chromium.err"
}

browser_dump_dom() {
	_browser --dump-dom "file://$1" >"$2"
}

browser_shots() {
	local file=$1 flags

	shift
	mapfile -t flags < <(_browser_flags)
	BROWSER=$BROWSER timeout 150 python3 "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/browser_shots.py" \
		"file://$file" 1280x900 "$@" -- "${flags[@]}" 2>>"$tmp/chromium.err"
}

expect_png_not_blank() {
	local colours

	colours=$(python3 "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/png_colours.py" "$2") || {
		fail "$1: not a readable PNG"
		return
	}
	if [ "$colours" -gt 1 ]; then
		pass "$1: not blank ($colours colours)"
	else
		fail "$1: blank ($colours colour)"
	fi
}
