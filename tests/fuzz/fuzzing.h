#pragma once
/*
 * Helpers shared by the libFuzzer targets in tests/fuzz.  Each target is one
 * C file defining LLVMFuzzerTestOneInput (and LLVMFuzzerInitialize when it
 * needs a fixture); it is linked either with libFuzzer (clang, `make fuzz`,
 * tests/fuzz/run-fuzz.sh) or with tests/fuzz/replay.c (gcc, `make check`:
 * replays the seed corpus and every regression input).
 *
 * A broken invariant aborts with a message saying which: under libFuzzer
 * that is a crash with a reproducer; under replay, a failed test.
 */

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef FUZZ_SRCDIR
#define FUZZ_SRCDIR "tests/fuzz"     /* overridden by the build with an absolute path */
#endif

__attribute__((format(printf, 3, 4), noreturn))
static inline void fuzz_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s:%d: fuzz invariant broken: %s\n", file, line, msg);
	fflush(stderr);
	abort();
}

/* Aborts when cond is false, printing the message. */
#define FUZZ_CHECK(cond, ...)                                    \
	do {                                                     \
		if (!(cond)) {                                   \
			fuzz_fail(__FILE__, __LINE__, __VA_ARGS__); \
		}                                                \
	} while (0)

/*
 * Makes a private temporary directory for a fixture: under $FUZZ_TMPDIR
 * (run-fuzz.sh points it into the build tree and cleans it), else /dev/shm
 * when it exists (LMDB writes there cost no disk), else /tmp.
 */
static inline void fuzz_tmpdir(char *out, size_t len, const char *tag)
{
	const char *base = getenv("FUZZ_TMPDIR");
	if (base == NULL || *base == '\0') {
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	}
	snprintf(out, len, "%s/certdns-%s-XXXXXX", base, tag);
	if (mkdtemp(out) == NULL) {
		fuzz_fail(__FILE__, __LINE__, "cannot create a temporary directory under %s", base);
	}
}

/* Removes a directory and the files in it (fixtures hold no subdirectories). */
static inline void fuzz_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d != NULL) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
				char path[1024];
				snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
				unlink(path);
			}
		}
		closedir(d);
	}
	rmdir(dir);
}

/* Sends stderr to /dev/null (for code that reports every input's errors).  Returns the saved fd. */
static inline int fuzz_quiet_begin(void)
{
	fflush(stderr);
	int saved = dup(2);
	int null = open("/dev/null", O_WRONLY);
	if (saved >= 0 && null >= 0) {
		dup2(null, 2);
	}
	if (null >= 0) {
		close(null);
	}
	return saved;
}

static inline void fuzz_quiet_end(int saved)
{
	fflush(stderr);
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	}
}
