#pragma once
/*
 * The DNS service: N worker threads, each with its own libuv loop, its own
 * SO_REUSEPORT UDP and TCP sockets per listen address, and its own LMDB read
 * snapshot.  Workers share nothing mutable, so the query path takes no lock.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "db/db.h"
#include "dns/cookie.h"
#include "server/rrl.h"

#define SERVER_MAX_LISTEN 16

typedef struct {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char text[64];             /* as given, for messages */
} server_listen_t;

typedef struct {
	db_t *db;
	const char *db_dir;            /* for the control socket */
	server_listen_t listen[SERVER_MAX_LISTEN];
	unsigned listen_count;
	unsigned workers;              /* >= 1 */
	uint16_t udp_payload;          /* largest UDP answer, advertised in EDNS */
	unsigned tcp_idle_timeout_ms;  /* close idle TCP connections after this */
	unsigned tcp_max_clients;      /* per worker */
	unsigned tcp_max_per_source;   /* TCP connections per source address, all workers; 0: no cap */
	rrl_config_t rrl;              /* UDP response rate limiting (rate 0: off; workers: ignored) */
	cookie_secrets_t cookies;      /* DNS cookie server secrets (count >= 1) */
	const char *acme_resolver;     /* resolver for the ACME engine's look-ups; NULL: resolv.conf */
	bool acme;                     /* run the ACME engine */
	/* Called once every listen socket is bound, before the control socket, the
	 * ACME engine and the workers start: certdnsd drops root there.  Non-zero
	 * (a CD_E* code) stops the start.  NULL: nothing to do. */
	int (*sockets_bound)(void *ctx);
	void *sockets_bound_ctx;
} server_config_t;

/* Parses "ADDR", "ADDR:PORT", "[V6]:PORT" (port 53 when absent).  Returns 0 or -1. */
int server_parse_listen(const char *text, server_listen_t *out);

/*
 * Binds every listen address, starts the workers and runs until SIGINT or
 * SIGTERM, then shuts down cleanly.  Returns 0, or CD_EIO when an address
 * cannot be bound (logged, naming the address), CD_EDB, CD_ENOMEM.
 */
int server_run(const server_config_t *cfg);
