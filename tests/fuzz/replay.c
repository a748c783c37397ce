/*
 * Replays a fuzz target's inputs without libFuzzer (built with gcc for `make
 * check`): every reproducer in tests/fuzz/regressions/TARGET (one TAP test
 * each: each is a bug that was found and fixed) and the whole seed corpus
 * tests/fuzz/corpus/TARGET (one TAP test), through the target's own
 * LLVMFuzzerInitialize and LLVMFuzzerTestOneInput, invariants included.
 *
 * usage: TARGET_replay [FILE_OR_DIR ...]   (default: the two directories above)
 *
 * A broken invariant aborts; the signal handler first prints a "not ok" line
 * naming the input, so the log says which file to look at.
 */
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>

#include "fuzzing.h"

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET names the target, e.g. -DFUZZ_TARGET='\"fuzz_query\"'"
#endif

static char current[1024];   /* the input being replayed, for the crash handler */

/*
 * In a sanitizer build (configure --enable-sanitizers): the one leak inside
 * ldns that tests/fuzz/lsan.supp explains, and the slow unwinder that can see
 * ldns's frames so the suppression matches.  Unused otherwise.
 */
const char *__asan_default_options(void);
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}
const char *__lsan_default_suppressions(void)
{
	return "leak:ldns_str2rdf_cert_alg\n";
}

static void on_crash(int sig)
{
	char line[1200];
	int n = snprintf(line, sizeof(line), "not ok - %s: %s crashed (signal %d)\n", FUZZ_TARGET,
	                 current, sig);
	if (n > 0) {
		ssize_t w = write(1, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
		(void)w;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads a whole file.  Returns its bytes (malloc'd, exact size) or NULL with errno. */
static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		return NULL;
	}
	uint8_t *data = NULL;
	size_t cap = 0;
	*len = 0;
	for (;;) {
		if (*len == cap) {
			cap = cap ? cap * 2 : 4096;
			uint8_t *n = realloc(data, cap);
			if (n == NULL) {
				free(data);
				fclose(f);
				return NULL;
			}
			data = n;
		}
		size_t got = fread(data + *len, 1, cap - *len, f);
		*len += got;
		if (got == 0) {
			break;
		}
	}
	fclose(f);
	/* An exact-size copy, as libFuzzer gives: reading past the end is then visible to ASan. */
	uint8_t *exact = malloc(*len ? *len : 1);
	if (exact != NULL) {
		memcpy(exact, data, *len);
	}
	free(data);
	return exact;
}

static int replay_file(const char *path)
{
	size_t len;
	uint8_t *data = read_file(path, &len);
	if (data == NULL) {
		printf("# %s: cannot read: %s\n", path, strerror(errno));
		return -1;
	}
	snprintf(current, sizeof(current), "%s", path);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

/* Replays the files of dir in name order; returns how many, -1 when one could not be read. */
static int replay_dir(const char *dir, bool one_test_each, int *test_no)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		return errno == ENOENT ? 0 : -1;
	}
	int count = 0;
	int ret = 0;
	for (int i = 0; i < n; i++) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		struct stat st;
		if (names[i]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(path) != 0) {
				ret = -1;
			} else if (one_test_each) {
				printf("ok %d - %s: regression %s\n", ++*test_no, FUZZ_TARGET, names[i]->d_name);
			}
			count++;
		}
		free(names[i]);
	}
	free(names);
	return ret < 0 ? ret : count;
}

int main(int argc, char **argv)
{
	signal(SIGABRT, on_crash);
	signal(SIGSEGV, on_crash);
	signal(SIGBUS, on_crash);
	signal(SIGFPE, on_crash);
	setvbuf(stdout, NULL, _IOLBF, 0);
	int fake_argc = 1;
	char **fake_argv = argv;
	LLVMFuzzerInitialize(&fake_argc, &fake_argv);

	int test_no = 0;
	int failed = 0;
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			struct stat st;
			int ok = stat(argv[i], &st) == 0 &&
			         (S_ISDIR(st.st_mode) ? replay_dir(argv[i], true, &test_no) >= 0
			                              : replay_file(argv[i]) == 0);
			if (!S_ISDIR(st.st_mode) || !ok) {
				printf("%s %d - %s: %s\n", ok ? "ok" : "not ok", ++test_no, FUZZ_TARGET, argv[i]);
			}
			failed += !ok;
		}
	} else {
		int n = replay_dir(FUZZ_SRCDIR "/regressions/" FUZZ_TARGET, true, &test_no);
		if (n < 0) {
			printf("not ok %d - %s: regressions unreadable\n", ++test_no, FUZZ_TARGET);
			failed++;
		}
		n = replay_dir(FUZZ_SRCDIR "/corpus/" FUZZ_TARGET, false, &test_no);
		bool ok = n > 0;
		printf("%s %d - %s: the seed corpus replays (%d inputs)\n", ok ? "ok" : "not ok", ++test_no,
		       FUZZ_TARGET, n);
		failed += !ok;
	}
	printf("1..%d\n", test_no);
	return failed ? 1 : 0;
}
