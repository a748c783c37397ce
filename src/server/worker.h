#pragma once
/* Internal to src/server: one worker thread and what it owns. */

#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "db/reader.h"
#include "dns/answer.h"
#include "server/server.h"

typedef struct udp_endpoint udp_endpoint_t;
typedef struct tcp_listener tcp_listener_t;
typedef struct tcp_conn tcp_conn_t;

typedef struct {
	_Atomic uint64_t udp_queries;
	_Atomic uint64_t tcp_queries;
	_Atomic uint64_t dropped;
	_Atomic uint64_t rcode[24];
	_Atomic uint64_t rrl_dropped;         /* UDP answers over the rate limit, not sent */
	_Atomic uint64_t rrl_slipped;         /* ... sent truncated (or BADCOOKIE) instead */
	_Atomic uint64_t tcp_source_refused;  /* connections over --tcp-max-per-source */
} worker_stats_t;

struct control;

typedef struct worker {
	unsigned index;
	const server_config_t *cfg;
	uv_loop_t loop;
	uv_async_t stop;
	uv_thread_t thread;
	db_reader_t reader;
	answer_opts_t udp_opts;
	answer_opts_t tcp_opts;
	answer_info_t udp_info;       /* what udp_opts.info points to: facts for rate limiting */
	struct rrl_table *rrl;        /* this worker's rate limiting buckets; NULL: off */
	struct conn_limit *conn_limit;  /* TCP connections per source, shared by all workers */
	udp_endpoint_t *udp[SERVER_MAX_LISTEN];
	tcp_listener_t *tcp[SERVER_MAX_LISTEN];
	tcp_conn_t *conns;            /* open TCP connections, a doubly linked list */
	unsigned conn_count;
	worker_stats_t stats;
	struct control *control;      /* woken when a NOTIFY for a followed zone arrives */
	int start_error;
} worker_t;

static inline void worker_count_rcode(worker_t *w, uint16_t rcode)
{
	if (rcode < 24) {
		atomic_fetch_add_explicit(&w->stats.rcode[rcode], 1, memory_order_relaxed);
	}
}

/* Creates a socket bound to addr with SO_REUSEPORT.  Returns the fd or -errno. */
int server_bind_socket(const server_listen_t *l, int type);
