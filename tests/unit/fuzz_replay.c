/*
 * Replays fuzz corpora through a libFuzzer target's entry point, built
 * without libFuzzer (tests/unit/meson.build links one fuzz target from
 * tests/fuzz into each replay program), so that every seed and every
 * fixed crash stays a regression test in the normal build. A target
 * abort()s when the code under test breaks its contract.
 *
 *   fuzz_replay_NAME DIR|FILE...
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migsync/strbuf.h"
#include "migsync/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *current;

/* Name the input that broke the contract, then abort as the target asked. */
static void on_abort(int sig)
{
	static const char what[] = "fuzz_replay: failed on ";

	if (current) {
		(void)!write(2, what, sizeof(what) - 1);
		(void)!write(2, current, strlen(current));
		(void)!write(2, "\n", 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static int replay_file(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	int ret = 0;

	if (strbuf_read_file(&sb, path, 16 * 1024 * 1024) < 0) {
		fprintf(stderr, "fuzz_replay: \"%s\": could not read\n", path);
		ret = -1;
	} else {
		current = path;
		LLVMFuzzerTestOneInput((const uint8_t *)sb.buf, sb.len);
		current = NULL;
	}
	strbuf_release(&sb);
	return ret;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order; returns how many, or -1. */
static int replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t nr = 0, alloc = 0;
	int count = 0;

	if (!d) {
		fprintf(stderr, "fuzz_replay: \"%s\": could not open\n", dir);
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		ALLOC_GROW(names, nr + 1, alloc);
		names[nr++] = xstrfmt("%s/%s", dir, de->d_name);
	}
	closedir(d);
	if (nr)
		qsort(names, nr, sizeof(*names), cmp_names);
	for (size_t i = 0; i < nr; i++) {
		if (count >= 0)
			count = replay_file(names[i]) ? -1 : count + 1;
		free(names[i]);
	}
	free(names);
	return count;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	signal(SIGABRT, on_abort);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int n;

		if (stat(argv[i], &st)) {
			fprintf(stderr, "fuzz_replay: \"%s\": not found\n", argv[i]);
			failed++;
			continue;
		}
		n = S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : replay_file(argv[i]) ? -1 : 1;
		if (n < 0)
			failed++;
		else
			passed += n;
	}
	if (!passed && !failed) {
		fprintf(stderr, "fuzz_replay: no input\n");
		failed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
