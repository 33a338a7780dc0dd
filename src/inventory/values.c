/*
 * Scalar helpers of the inventory: ${VAR} interpolation, durations and the
 * edit distance behind "did you mean".
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "migsync/inventory.h"
#include "migsync/strbuf.h"

bool inventory_env_is_fleet(const struct environment *env)
{
	return env->targets.databases.nr || env->targets.schemas.nr || inventory_env_discovers(env);
}

bool inventory_env_discovers(const struct environment *env)
{
	return env->targets.discover || env->targets.discover_schemas;
}

const char *inventory_choose_dir(const char *option)
{
	const char *env = getenv("MIGSYNC_INVENTORY");

	if (option)
		return option;
	if (env && *env)
		return env;
	return "environments";
}

static bool is_var_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool is_var_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

bool inventory_name_is_secret(const char *name)
{
	static const char *const words[] = {
		"PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL",
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t len = strlen(words[i]);

		for (const char *p = name; *p; p++)
			if (!strncasecmp(p, words[i], len))
				return true;
	}
	return false;
}

/*
 * Docker Compose semantics, minus the forms nobody needs: ${VAR} must be
 * set (an empty value counts as set), ${VAR:-default} uses default when
 * VAR is unset or empty, "$$" is a literal "$". A "$" before anything
 * else is kept as is, so that passwords in URLs and SQL stay intact.
 */
int inventory_interpolate(char **out, const char *s, size_t *bad_offset,
			  struct ms_error *err)
{
	return inventory_interpolate_secrets(out, s, bad_offset, NULL, err);
}

int inventory_interpolate_secrets(char **out, const char *s, size_t *bad_offset,
				  struct strvec *secrets, struct ms_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = s;
	int ret = 0;

	*out = NULL;
	while (*p) {
		const char *name, *end, *close, *value;
		char *var = NULL;

		if (p[0] != '$') {
			strbuf_addch(&sb, *p++);
			continue;
		}
		if (p[1] == '$') {
			strbuf_addch(&sb, '$');
			p += 2;
			continue;
		}
		if (p[1] != '{') {
			strbuf_addch(&sb, *p++);
			continue;
		}
		name = p + 2;
		end = name;
		if (!is_var_start(*end)) {
			*bad_offset = (size_t)(p - s);
			ret = ms_error_set(err, MS_ERR_CONFIG,
					   "malformed variable reference: expected a variable name after \"${\"");
			ms_error_hint(err, "write ${NAME} or ${NAME:-default}, or $$ for a literal \"$\"");
			goto done;
		}
		while (is_var_char(*end))
			end++;
		close = strchr(end, '}');
		if (!close || (*end != '}' && strncmp(end, ":-", 2) != 0)) {
			*bad_offset = (size_t)(p - s);
			ret = ms_error_set(err, MS_ERR_CONFIG,
					   "malformed variable reference \"${%.*s\": expected \"}\" or \":-default}\"",
					   (int)(end - name), name);
			ms_error_hint(err, "write ${NAME} or ${NAME:-default}, or $$ for a literal \"$\"");
			goto done;
		}
		var = xstrndup(name, (size_t)(end - name));
		value = getenv(var);
		if (*end == '}') {
			if (!value) {
				*bad_offset = (size_t)(p - s);
				ret = ms_error_set(err, MS_ERR_CONFIG,
						   "variable \"%s\" is not set", var);
				ms_error_hint(err, "export %s, or give a default: ${%s:-VALUE}", var, var);
				free(var);
				goto done;
			}
			strbuf_addstr(&sb, value);
		} else if (value && *value) {
			strbuf_addstr(&sb, value);
		} else {
			value = NULL;	/* the default is written in the file: no secret */
			strbuf_add(&sb, end + 2, (size_t)(close - (end + 2)));
		}
		if (secrets && value && *value && inventory_name_is_secret(var) &&
		    !strvec_contains(secrets, value))
			strvec_push(secrets, value);
		free(var);
		p = close + 1;
	}
	*out = strbuf_detach(&sb, NULL);
done:
	strbuf_release(&sb);
	return ret;
}

int inventory_parse_duration(const char *s, int64_t *seconds)
{
	const int64_t max = INT64_MAX / 2;
	int64_t total = 0;
	const char *p = s;
	char last_unit = 0;

	if (!*p)
		return -1;
	while (*p) {
		int64_t n = 0, mult;

		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p)) {
			n = n * 10 + (*p - '0');
			if (n > max / 86400)
				return -1;
			p++;
		}
		switch (*p) {
		case '\0':
			/* a bare number: seconds, but only on its own */
			if (p != s && last_unit)
				return -1;
			mult = 1;
			break;
		case 'd':
			mult = 86400;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'm':
			mult = 60;
			break;
		case 's':
			mult = 1;
			break;
		default:
			return -1;
		}
		/* units in decreasing order, each at most once: 1h30m, not 30m1h */
		if (*p) {
			static const char order[] = "dhms";

			if (last_unit && strchr(order, *p) <= strchr(order, last_unit))
				return -1;
			last_unit = *p;
			p++;
		}
		total += n * mult;
		if (total > max)
			return -1;
	}
	*seconds = total;
	return 0;
}

char *inventory_format_duration(int64_t seconds)
{
	struct strbuf sb = STRBUF_INIT;
	static const struct {
		char unit;
		int64_t size;
	} units[] = { { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };

	if (seconds <= 0)
		return xstrdup("0s");
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (seconds >= units[i].size) {
			strbuf_addf(&sb, "%lld%c", (long long)(seconds / units[i].size), units[i].unit);
			seconds %= units[i].size;
		}
	}
	return strbuf_detach(&sb, NULL);
}

unsigned inventory_levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned *row = xcalloc(lb + 1, sizeof(*row));
	unsigned ret;

	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	ret = row[lb];
	free(row);
	return ret;
}
