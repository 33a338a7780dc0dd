/*
 * Does a revision id look like a placeholder somebody typed by hand
 * ("abc123def456", "000000000000", "c0ff00000001") rather than one
 * `alembic revision` generated (12 random hex characters)?
 *
 * Each test below is chosen so that a random 12-character hex id trips
 * it rarely (the estimates are for 12 characters; longer ids get a
 * stricter run threshold):
 *
 *   one character repeated throughout        16^-11
 *   a known dummy word (deadbeef, c0ffee...)  < 10^-6
 *   at most 3 distinct characters            ~ 10^-6
 *   a run of 5 or more equal characters      ~ 1.2 * 10^-4
 *   half the steps counting up (a->b, 1->2)  ~ 3 * 10^-5
 *   half the steps counting down             ~ 3 * 10^-5
 *   two thirds interleaved counting (1a2b3c) ~ 5 * 10^-7
 *
 * Over two million random ids about 1 in 7,500 is flagged, while the
 * hand-made ids of seed 004 and the usual test fixtures all are.
 *
 * Custom --rev-id schemes are not placeholders: ids that are not
 * hexadecimal ("20250824_001") are only checked for one repeated
 * character and a few placeholder words, and decimal ids of other than
 * 12 characters ("000042", "20250824") skip the distinct-character and
 * run tests, which a counter or a date would trip.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "migsync/lint.h"

static const char *const dummy_words[] = {
	"deadbeef", "cafebabe", "feedface", "badc0de", "c0ffee", "decafbad",
	"abcdef", "fedcba", "012345", "123456", "654321",
};

/* Ids that are placeholders whatever the scheme, compared ignoring case. */
static const char *const placeholder_ids[] = {
	"test", "todo", "tbd", "xxx", "fixme", "dummy", "placeholder",
	"changeme", "revision", "rev", "new", "foo", "bar",
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool all_hex(const char *id)
{
	for (const char *p = id; *p; p++)
		if (hexval((unsigned char)*p) < 0)
			return false;
	return true;
}

const char *lint_placeholder_reason(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	size_t run = 1, max_run = 1, up = 0, down = 0, up2 = 0, distinct = 0;
	bool seen[16] = { false };
	bool decimal;

	if (n == 0)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(placeholder_ids); i++)
		if (!strcasecmp(id, placeholder_ids[i]))
			return "a placeholder word";
	for (size_t i = 1; i < n; i++) {
		run = id[i] == id[i - 1] ? run + 1 : 1;
		if (run > max_run)
			max_run = run;
	}
	if (n >= 2 && max_run == n)
		return "one repeated character";
	if (!all_hex(id) || n < 6)
		return NULL;
	decimal = strspn(id, "0123456789") == n;

	for (size_t i = 0; i < n; i++) {
		int v = hexval((unsigned char)id[i]);

		if (!seen[v]) {
			seen[v] = true;
			distinct++;
		}
		if (i > 0) {
			int prev = hexval((unsigned char)id[i - 1]);

			up += v == prev + 1;
			down += v == prev - 1;
		}
		if (i > 1)
			up2 += v == hexval((unsigned char)id[i - 2]) + 1;
	}
	/* a decimal counter or date ("000042", "20250824") is a scheme */
	if (!decimal || n == 12) {
		if (distinct <= (n >= 8 ? 3u : 2u))
			return "too few distinct characters";
		if (max_run >= (n <= 16 ? 5u : 6u))
			return "a long run of one character";
	}
	/* at least half the steps, and never fewer than 4 */
	if (up >= 4 && up * 2 >= n - 1)
		return "a counting sequence";
	if (down >= 4 && down * 2 >= n - 1)
		return "a counting sequence";
	if (up2 >= 4 && up2 * 3 >= (n - 2) * 2)
		return "two interleaved counting sequences";
	for (size_t i = 0; i < ARRAY_SIZE(dummy_words); i++) {
		size_t wl = strlen(dummy_words[i]);

		for (size_t j = 0; j + wl <= n; j++) {
			size_t k = 0;

			while (k < wl && tolower((unsigned char)id[j + k]) == dummy_words[i][k])
				k++;
			if (k == wl)
				return "a well-known dummy word";
		}
	}
	return NULL;
}
