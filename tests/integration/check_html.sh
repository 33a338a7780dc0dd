#!/bin/bash
# migsync check --html against a real, throwaway PostgreSQL, the page
# checked in headless Chromium with the network refused. Four stages
# brought to the head with `migsync apply`, then: a column added by hand
# in staging (drift), uat set back to the first revision and prod to the
# second (prod is ahead of uat: an order violation; prod still needs the
# third, and its gate needs an approval: pending approval; the third
# builds an index without CONCURRENTLY: a safety finding for uat and
# prod). The page must show all four, each linked to its details, every environment's state
# as a word, the graph with a badge per environment, no network reference;
# the JUnit file and the Markdown summary link to it relatively; two
# screenshots of a 1280-pixel-wide window are not blank.
#
# Run by meson with MIGSYNC = the binary, MIGSYNC_SOURCE_ROOT = the repo.
set -u

: "${MIGSYNC:?set MIGSYNC to the migsync binary}"
: "${MIGSYNC_SOURCE_ROOT:?set MIGSYNC_SOURCE_ROOT to the repository root}"

. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/common.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/pg.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/inventory.sh"
. "$MIGSYNC_SOURCE_ROOT/tests/integration/lib/browser.sh"

FAIL_GOES_ON=1
browser_available || skip_all "chromium is not installed"
command -v xmllint >/dev/null || skip_all "xmllint is not installed"
pg_setup check-html

# --- revisions r1..r3, four stages without gates, all at the head
mkdir -p "$tmp/versions"
R1=1a0000000001 R2=2b0000000002 R3=3c0000000003
inv_sql_rev "$tmp/versions" $R1 "" "CREATE TABLE t_$R1 (id int PRIMARY KEY);" "DROP TABLE t_$R1;"
inv_sql_rev "$tmp/versions" $R2 $R1 "CREATE TABLE t_$R2 (id int PRIMARY KEY);" "DROP TABLE t_$R2;"
# r3 builds an index without CONCURRENTLY: a safety finding while r3 is pending
inv_sql_rev "$tmp/versions" $R3 $R2 "CREATE TABLE t_$R3 (id int PRIMARY KEY);
CREATE INDEX i_t_$R1 ON t_$R1 (id);" "DROP TABLE t_$R3; DROP INDEX i_t_$R1;"
inv=$tmp/inventory
inv_gated "$inv" shop "connect_timeout: 20" dev=0 staging=0 uat=0 prod=0 || fail "inventory"
run apply apply -i "$inv" --yes
expect_rc apply 0

# --- the three problems
pg_psql -d staging -c "ALTER TABLE t_$R2 ADD COLUMN extra int" >/dev/null || fail "drift staging"
pg_psql -d uat -c "UPDATE alembic_version SET version_num = '$R1'" >/dev/null || fail "set uat back"
pg_psql -d prod -c "UPDATE alembic_version SET version_num = '$R2'" >/dev/null || fail "set prod back"
sed -i 's/^  approvals: 0$/  approvals: 1/' "$inv/prod.yaml"

mkdir -p "$tmp/out/html"
page=$tmp/out/html/report.html
run check check -i "$inv" --html "$page" --junit "$tmp/out/junit.xml" --markdown "$tmp/out/summary.md"
expect_rc check 1
check "the page is written" test -s "$page"

# --- self-contained: no URL, no external script, style sheet, font or image
echo "checking: self-contained"
if grep -Eqi 'https?:|//[a-z0-9.-]+\.[a-z]|<script|<link|@import|url\(|<img|<iframe|src=' "$page"; then
	fail "the page refers to something outside it: $(grep -Eoi 'https?:[^" ]*|<script|<link|@import|url\(|<img|<iframe|src=[^ ]*' "$page" | head -3)"
else
	pass "the page refers to nothing outside it"
fi
check "the page is well-formed enough for xmllint --html" xmllint --html --noout "$page"

# --- the DOM as Chromium builds it
echo "checking: the DOM in Chromium"
browser_dump_dom "$page" "$tmp/dom.html"
check "chromium dumped the DOM" test -s "$tmp/dom.html"
dom_row() {	# dom_row ENV: the matrix row of ENV, on one line
	tr -d '\n' <"$tmp/dom.html" | grep -o "<tr id=\"env-$1\"[^>]*>.*" | sed 's|</tr>.*||'
}
expect_row() {	# expect_row ENV TEXT: ENV's row shows TEXT
	if dom_row "$1" | grep -qF -- "$2"; then
		pass "matrix: $1 shows \"$2\""
	else
		fail "matrix: $1 does not show \"$2\": $(dom_row "$1")"
	fi
}
expect_contains "$tmp/dom.html" '<table class="matrix">'
expect_contains "$tmp/dom.html" 'FAILED: 3 problems'
for state in dev=current staging=current uat=behind prod=behind; do
	expect_row "${state%%=*}" "data-state=\"${state#*=}\""
	expect_row "${state%%=*}" ">${state#*=}</td>"
done
expect_row staging "<a href=\"#drift-staging\">failed: "
expect_row prod "<a href=\"#order-prod\">failed: "
expect_row prod "<a href=\"#pending-prod\">1 pending, awaiting approval (1 needed)</a>"
expect_row uat "<a href=\"#pending-uat\">2 pending</a>"
expect_row dev "<code>$R3</code>"
expect_row prod "<a href=\"#safety-prod\">1 finding</a>"
expect_row uat "<a href=\"#safety-uat\">1 finding</a>"
expect_row dev ">none pending</td>"
# each link leads to its details
for id in drift-staging order-prod pending-prod safety-prod; do
	expect_contains "$tmp/dom.html" "<article id=\"$id\""
done
tr -d '\n' <"$tmp/dom.html" | grep -o '<article id="drift-staging".*' | sed 's|</article>.*||' >"$tmp/drift.txt"
expect_contains "$tmp/drift.txt" "column extra <code>public.t_$R2.extra</code>"
tr -d '\n' <"$tmp/dom.html" | grep -o '<article id="order-prod".*' | sed 's|</article>.*||' >"$tmp/order.txt"
expect_contains "$tmp/order.txt" "Ahead of <strong>uat</strong>"
tr -d '\n' <"$tmp/dom.html" | grep -o '<article id="pending-prod".*' | sed 's|</article>.*||' >"$tmp/pending.txt"
expect_contains "$tmp/pending.txt" "needs 1 approval"
expect_contains "$tmp/pending.txt" "<code>$R3</code>"
tr -d '\n' <"$tmp/dom.html" | grep -o '<article id="safety-prod".*' | sed 's|</article>.*||' >"$tmp/safety.txt"
expect_contains "$tmp/safety.txt" "<strong>MS101</strong> require-concurrent-index"
# a lint failed by a safety finding alone says so beside its counts
expect_contains "$tmp/dom.html" "0 errors, 4 warnings; 1 safety finding on revisions some database still needs"

# --- the graph: a node per revision, a badge per environment
echo "checking: the graph"
expect_line() {	# expect_line WHAT GOT EXPECTED
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got \"$2\", expected \"$3\""; fi
}
expect_line "graph: a node per revision" "$(grep -o 'class="node rev' "$tmp/dom.html" | wc -l)" 3
for badge in dev-$R3 staging-$R3 uat-$R1 prod-$R2; do
	expect_line "graph: badge $badge" "$(grep -o "id=\"a_badge-$badge\"" "$tmp/dom.html" | wc -l)" 1
done
expect_contains "$tmp/dom.html" 'href="#env-prod"'
expect_text_fits "graph in the page" "$page"

# labels of every width, as Chromium draws them in the fonts it has: long
# and short messages, Chinese, tags, depends_on, a branch label. Without a
# Chinese font Chromium would draw empty boxes, and nothing would be measured.
if [ -z "$(fc-list :lang=zh family 2>/dev/null)" ]; then
	fail "no Chinese font for Chromium: install fonts-wqy-microhei (or another), so that Chinese labels are measured"
fi
mkdir -p "$tmp/msgs"
msg_rev() {	# msg_rev ID DOWN MESSAGE [EXTRA LINE]...
	{
		printf '"""%s\n\nRevision ID: %s\n"""\nrevision = "%s"\ndown_revision = %s\n' \
			"$3" "$1" "$1" "$2"
		shift 3
		printf '%s\n' "$@"
	} >"$tmp/msgs/$1_rev.py"
}
msg_rev a1b2c3d4e5f6 None "创建用户表和订单表" 'branch_labels = ("core",)'
msg_rev b2c3d4e5f6a7 '"a1b2c3d4e5f6"' "add a very long message about the invoices table, its indexes and the WWW MMM columns"
msg_rev c3d4e5f6a7b8 '"a1b2c3d4e5f6"' "给订单表添加索引 (index on orders)" 'depends_on = "b2c3d4e5f6a7"'
msg_rev d4e5f6a7b8c9 '("b2c3d4e5f6a7", "c3d4e5f6a7b8")' "merge"
run msgs_svg -- graph --format=svg --scripts "$tmp/msgs"
expect_rc msgs_svg 0
cp "$tmp/msgs_svg.out" "$tmp/msgs.svg"
expect_contains "$tmp/msgs.svg" "创建用户表和订单表"
expect_text_fits "graph of long and Chinese messages" "$tmp/msgs.svg"

# --- the other files link to the page relatively
echo "checking: links"
expect_json_file "$tmp/out/junit.xml" '.children[0].children[0].children[0].(name,value)' \
	'["html_report", "html/report.html"]'
expect_contains "$tmp/out/summary.md" "(html/report.html)"

# --- screenshots of a 1280-pixel-wide window: the top, and scrolled down 900 pixels
echo "checking: screenshots"
browser_shots "$page" "$tmp/top.png=0" "$tmp/down.png=900" >"$tmp/shots.out"
expect_line "screenshot at the top" "$(grep -F "$tmp/top.png" "$tmp/shots.out" | cut -d' ' -f2)" 0
expect_line "screenshot scrolled down" "$(grep -F "$tmp/down.png" "$tmp/shots.out" | cut -d' ' -f2)" 900
expect_png_not_blank "screenshot at the top" "$tmp/top.png"
expect_png_not_blank "screenshot scrolled down" "$tmp/down.png"
if cmp -s "$tmp/top.png" "$tmp/down.png"; then
	fail "the two screenshots are the same picture"
else
	pass "the two screenshots show different parts of the page"
fi
if [ -n "${CHECK_HTML_KEEP:-}" ]; then cp "$page" "$tmp"/*.png "$CHECK_HTML_KEEP/"; fi

# --- a page that cannot be written: exit 2, and a consistent run passes
run nowhere check -i "$inv" --html "$tmp/missing/dir/report.html"
expect_rc nowhere 2
expect_contains "$tmp/nowhere.err" "could not open for writing"

finish check_html
