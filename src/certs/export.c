#include "certs/export.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"

extern char **environ;

/* Writes all of data; a short write is retried, so a full disk shows as ENOSPC. */
static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

typedef struct {
	const char *name;
	const char *data;
	size_t len;
	mode_t mode;
	char tmp[4200];
} export_file_t;

/* Writes f's data to a temporary file next to it, synced.  On failure nothing is left. */
static int write_temp(const char *dir, export_file_t *f, char *err, size_t errlen)
{
	snprintf(f->tmp, sizeof(f->tmp), "%s/.%s.tmp.%ld", dir, f->name, (long)getpid());
	int fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, f->mode);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", f->tmp, strerror(errno));
		return errno == ENOSPC ? CD_ENOSPC : CD_EIO;
	}
	bool ok = fchmod(fd, f->mode) == 0 && write_all(fd, f->data, f->len) == 0 && fsync(fd) == 0;
	int saved = errno;
	if (close(fd) != 0 && ok) {
		ok = false;
		saved = errno;
	}
	if (!ok) {
		unlink(f->tmp);
		snprintf(err, errlen, "%s/%s: %s", dir, f->name, strerror(saved));
		return saved == ENOSPC ? CD_ENOSPC : CD_EIO;
	}
	return CD_OK;
}

int cert_export_files(const char *dir, const char *chain, const char *key_pem, size_t key_len,
                      char *err, size_t errlen)
{
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return CD_EIO;
	}
	const char *second = strstr(chain + 1, "-----BEGIN CERTIFICATE-----");
	size_t leaf_len = second ? (size_t)(second - chain) : strlen(chain);
	/* Renamed in this order: a server reloading on fullchain.pem finds the key in place. */
	export_file_t files[] = {
		{ .name = "privkey.pem", .data = key_pem, .len = key_len, .mode = 0600 },
		{ .name = "cert.pem", .data = chain, .len = leaf_len, .mode = 0644 },
		{ .name = "chain.pem", .data = second ? second : "", .len = second ? strlen(second) : 0,
		  .mode = 0644 },
		{ .name = "fullchain.pem", .data = chain, .len = strlen(chain), .mode = 0644 },
	};
	const size_t n = sizeof(files) / sizeof(files[0]);
	/* Every new file is written and synced before any old one is replaced: a full
	 * disk never leaves a key beside a certificate it does not belong to. */
	for (size_t i = 0; i < n; i++) {
		int ret = write_temp(dir, &files[i], err, errlen);
		if (ret != CD_OK) {
			while (i-- > 0) {
				unlink(files[i].tmp);
			}
			size_t used = strlen(err);
			snprintf(err + used, errlen - used, "; the files in %s are unchanged", dir);
			return ret;
		}
	}
	for (size_t i = 0; i < n; i++) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		if (rename(files[i].tmp, path) != 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			for (; i < n; i++) {
				unlink(files[i].tmp);
			}
			return CD_EIO;
		}
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);   /* the renames themselves survive a crash */
		close(dfd);
	}
	return CD_OK;
}

int cert_run_deploy_hook(const char *command, uint32_t id, const char *names, const char *dir,
                         unsigned timeout_s, char *err, size_t errlen)
{
	char vars[7][4200];
	snprintf(vars[0], sizeof(vars[0]), "CERTDNS_CERT_ID=%u", id);
	snprintf(vars[1], sizeof(vars[1]), "CERTDNS_NAMES=%s", names);
	snprintf(vars[2], sizeof(vars[2]), "CERTDNS_DIR=%s", dir);
	snprintf(vars[3], sizeof(vars[3]), "CERTDNS_FULLCHAIN=%s/fullchain.pem", dir);
	snprintf(vars[4], sizeof(vars[4]), "CERTDNS_PRIVKEY=%s/privkey.pem", dir);
	snprintf(vars[5], sizeof(vars[5]), "CERTDNS_CHAIN=%s/chain.pem", dir);
	snprintf(vars[6], sizeof(vars[6]), "CERTDNS_CERT=%s/cert.pem", dir);
	size_t n = 0;
	while (environ[n] != NULL) {
		n++;
	}
	char **env = calloc(n + 8, sizeof(char *));
	if (env == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t e = 0;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(environ[i], "CERTDNS_", 8) != 0) {
			env[e++] = environ[i];
		}
	}
	for (size_t i = 0; i < 7; i++) {
		env[e++] = vars[i];
	}
	env[e] = NULL;
	char *argv[] = { "/bin/sh", "-c", (char *)command, NULL };
	/* The hook starts with a clean signal state: the daemon's threads block
	 * SIGINT/SIGTERM and it ignores SIGPIPE, and both would be inherited. */
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE);
	sigaddset(&defaults, SIGINT);
	sigaddset(&defaults, SIGTERM);
	pid_t pid;
	int rc = posix_spawnattr_init(&attr);
	if (rc == 0) {
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setsigdefault(&attr, &defaults);
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
		rc = posix_spawn(&pid, "/bin/sh", NULL, &attr, argv, env);
		posix_spawnattr_destroy(&attr);
	}
	free(env);
	if (rc != 0) {
		snprintf(err, errlen, "cannot run the deploy hook: %s", strerror(rc));
		return -1;
	}
	time_t until = time(NULL) + (time_t)timeout_s;
	int status = 0;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			break;
		}
		if (w < 0 && errno != EINTR) {
			snprintf(err, errlen, "waiting for the deploy hook: %s", strerror(errno));
			return -1;
		}
		if (time(NULL) >= until) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(err, errlen, "the deploy hook ran longer than %u s and was killed", timeout_s);
			return -1;
		}
		struct timespec ts = { .tv_nsec = 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (WIFEXITED(status)) {
		return WEXITSTATUS(status);
	}
	snprintf(err, errlen, "the deploy hook died of signal %d", WTERMSIG(status));
	return -1;
}
