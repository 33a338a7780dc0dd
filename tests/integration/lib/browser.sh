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
#   expect_text_fits NAME FILE  a check: in the drawings of FILE (an HTML
#                               page holding SVG, or an SVG file), every
#                               node's text lies within the node's box as
#                               Chromium lays it out in its own fonts
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

# Every text of every Graphviz node inside its box: a copy of the page
# with a script that compares their bounding boxes in Chromium, read back
# from the dumped DOM.
expect_text_fits() {
	local name=$1 file=$2 copy=$tmp/fits-$RANDOM.html dom texts overflow

	{
		case $file in
		*.svg) printf '<!DOCTYPE html><html><body>\n'; cat "$file" ;;
		*) sed 's|</body>.*||' "$file" ;;
		esac
		cat <<'SCRIPT'
<script>
const bad = [];
let texts = 0;
for (const g of document.querySelectorAll("g.node")) {
  const boxes = [...g.querySelectorAll("polygon, path")].map(p => p.getBBox());
  if (!boxes.length) continue;
  const left = Math.min(...boxes.map(b => b.x));
  const right = Math.max(...boxes.map(b => b.x + b.width));
  for (const t of g.querySelectorAll("text")) {
    const b = t.getBBox();
    texts++;
    if (b.x < left - 0.5 || b.x + b.width > right + 0.5)
      bad.push(g.id + " \"" + t.textContent + "\" " + b.x.toFixed(1) + "-" +
               (b.x + b.width).toFixed(1) + " outside " + left.toFixed(1) + "-" + right.toFixed(1));
  }
}
const out = document.createElement("pre");
out.id = "text-fits";
out.textContent = "texts " + texts + "\noverflow " + bad.length + "\n" + bad.join("\n");
document.body.appendChild(out);
</script></body></html>
SCRIPT
	} >"$copy"
	dom=$copy.dom
	browser_dump_dom "$copy" "$dom"
	texts=$(sed -n 's/^.*texts \([0-9]*\)$/\1/p' "$dom")
	overflow=$(sed -n 's/^overflow \([0-9]*\)$/\1/p' "$dom")
	if [ -z "$texts" ] || [ "$texts" -eq 0 ]; then
		fail "$name: no node text measured (chromium: $(tail -1 "$tmp/chromium.err" 2>/dev/null))"
	elif [ "$overflow" = 0 ]; then
		pass "$name: all $texts node texts within their boxes"
	else
		fail "$name: $overflow of $texts node texts outside their boxes: $(grep -A3 '^overflow' "$dom" | tail -3)"
	fi
}
