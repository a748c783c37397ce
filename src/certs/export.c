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

static int write_atomically(const char *dir, const char *name, const char *data, size_t len,
                            mode_t mode, char *err, size_t errlen)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%ld", dir, name, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return CD_EIO;
	}
	bool ok = fchmod(fd, mode) == 0 && write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
	int saved = errno;
	close(fd);
	if (ok && rename(tmp, path) != 0) {
		ok = false;
		saved = errno;
	}
	if (!ok) {
		unlink(tmp);
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		return CD_EIO;
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
	int ret = write_atomically(dir, "privkey.pem", key_pem, key_len, 0600, err, errlen);
	if (ret == CD_OK) {
		ret = write_atomically(dir, "cert.pem", chain, leaf_len, 0644, err, errlen);
	}
	if (ret == CD_OK) {
		ret = write_atomically(dir, "chain.pem", second ? second : "", second ? strlen(second) : 0,
		                       0644, err, errlen);
	}
	if (ret == CD_OK) {
		/* Last: a server reloading on fullchain.pem finds the key already in place. */
		ret = write_atomically(dir, "fullchain.pem", chain, strlen(chain), 0644, err, errlen);
	}
	return ret;
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
	pid_t pid;
	int rc = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, env);
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
