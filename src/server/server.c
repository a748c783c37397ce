#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "common/error.h"
#include "common/log.h"
#include "db/zone_store.h"
#include "dns/wire.h"
#include "acme/engine.h"
#include "server/conn_limit.h"
#include "server/control.h"
#include "server/tcp.h"
#include "server/udp.h"
#include "server/worker.h"

#define UDP_SOCKET_BUFFER (4 * 1024 * 1024)

int server_parse_listen(const char *text, server_listen_t *out)
{
	char host[64];
	const char *port_text = NULL;
	memset(out, 0, sizeof(*out));
	if (strlen(text) >= sizeof(host)) {
		return -1;
	}
	snprintf(out->text, sizeof(out->text), "%s", text);
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
			return -1;
		}
		size_t n = (size_t)(close - text - 1);
		memcpy(host, text + 1, n);
		host[n] = '\0';
		port_text = close[1] == ':' ? close + 2 : NULL;
	} else {
		const char *colon = strchr(text, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			size_t n = (size_t)(colon - text);
			memcpy(host, text, n);
			host[n] = '\0';
			port_text = colon + 1;
		} else {
			snprintf(host, sizeof(host), "%s", text);   /* bare IPv4 or IPv6 */
		}
	}
	long port = 53;
	if (port_text != NULL) {
		char *end;
		errno = 0;
		port = strtol(port_text, &end, 10);
		if (errno != 0 || *end != '\0' || end == port_text || port < 1 || port > 65535) {
			return -1;
		}
	}
	struct sockaddr_in *in4 = (struct sockaddr_in *)&out->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->addr;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		out->addrlen = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		out->addrlen = sizeof(*in6);
	} else {
		return -1;
	}
	return 0;
}

static int make_socket(const server_listen_t *l, int type, bool reuseport)
{
	int fd = socket(l->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	int one = 1;
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	if (type == SOCK_STREAM) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	} else {
		/* A bigger receive queue rides out the moments a busy CPU deschedules
		 * the worker (the kernel caps it at net.core.rmem_max). */
		int size = UDP_SOCKET_BUFFER;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	if (l->addr.ss_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) != 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

int server_bind_socket(const server_listen_t *l, int type)
{
	return make_socket(l, type, true);
}

/*
 * SO_REUSEPORT would let us silently share a port with another server that
 * uses it too (Knot, NSD, a second certdnsd).  Binding once without it first
 * turns that into a clear "address in use".
 */
static int check_port_free(const server_listen_t *l)
{
	static const int types[] = { SOCK_DGRAM, SOCK_STREAM };
	for (size_t i = 0; i < 2; i++) {
		int fd = make_socket(l, types[i], false);
		if (fd < 0) {
			log_error("cannot listen on %s %s: %s", types[i] == SOCK_DGRAM ? "UDP" : "TCP",
			          l->text, strerror(-fd));
			return CD_EIO;
		}
		close(fd);
	}
	return CD_OK;
}

static void on_stop(uv_async_t *handle)
{
	worker_t *w = handle->data;
	for (unsigned i = 0; i < w->cfg->listen_count; i++) {
		if (w->udp[i] != NULL) {
			udp_endpoint_close(w->udp[i]);
			w->udp[i] = NULL;
		}
		if (w->tcp[i] != NULL) {
			tcp_listener_close(w->tcp[i]);
			w->tcp[i] = NULL;
		}
	}
	tcp_close_all(w);
	uv_close((uv_handle_t *)&w->stop, NULL);
}

static void worker_main(void *arg)
{
	worker_t *w = arg;
	char name[16];   /* what top -H and perf show: one name per worker */
	snprintf(name, sizeof(name), "cdns-worker-%u", w->index);
	pthread_setname_np(pthread_self(), name);
	uv_run(&w->loop, UV_RUN_DEFAULT);
}

static int worker_init(worker_t *w, const server_config_t *cfg, unsigned index)
{
	memset(w, 0, sizeof(*w));
	w->index = index;
	w->cfg = cfg;
	w->udp_opts = (answer_opts_t){ .tcp = false, .udp_payload = cfg->udp_payload };
	w->tcp_opts = (answer_opts_t){ .tcp = true, .udp_payload = cfg->udp_payload };
	int rc = uv_loop_init(&w->loop);
	if (rc != 0) {
		log_error("worker %u: cannot create event loop: %s", index, uv_strerror(rc));
		w->start_error = 1;   /* nothing to tear down */
		return CD_ENOMEM;
	}
	uv_async_init(&w->loop, &w->stop, on_stop);
	w->stop.data = w;
	int ret = db_reader_init(&w->reader, cfg->db);
	if (ret != CD_OK) {
		return ret;
	}
	w->udp_opts.info = &w->udp_info;
	if (cfg->rrl.rate > 0) {
		rrl_config_t rrl = cfg->rrl;
		rrl.workers = cfg->workers;   /* SO_REUSEPORT spreads a network over the workers */
		ret = rrl_create(&rrl, &w->rrl);
		if (ret != CD_OK) {
			log_error("worker %u: cannot create the rate limiting table: %s", index,
			          cd_strerror(ret));
			return ret;
		}
	}
	for (unsigned i = 0; i < cfg->listen_count; i++) {
		ret = udp_endpoint_start(w, &cfg->listen[i], &w->udp[i]);
		if (ret == CD_OK) {
			ret = tcp_listener_start(w, &cfg->listen[i], &w->tcp[i]);
		}
		if (ret != CD_OK) {
			return ret;
		}
	}
	return CD_OK;
}

/* Runs the worker's loop until every handle is closed, then frees what it owns. */
static void worker_destroy(worker_t *w)
{
	uv_run(&w->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&w->loop) != 0) {
		log_warning("worker %u: event loop still had handles at shutdown", w->index);
	}
	db_reader_destroy(&w->reader);
	rrl_destroy(w->rrl);
}

typedef struct {
	worker_t *workers;
	unsigned count;
	uv_signal_t sigint, sigterm;
	const server_config_t *cfg;
	uint64_t started;          /* uv_hrtime() at start */
} server_t;

static const char *const rcode_names[] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
	"YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", NULL, NULL, NULL, NULL, NULL, "BADVERS",
};

static int count_zone(void *ctx, const zone_record_t *zone)
{
	(void)zone;
	(*(size_t *)ctx)++;
	return 0;
}

/* The control socket's "status" reply, built on the control thread. */
static json_t *server_status(void *ctx)
{
	server_t *s = ctx;
	uint64_t udp = 0, tcp = 0, dropped = 0, rrl_dropped = 0, rrl_slipped = 0, tcp_refused = 0;
	uint64_t rcodes[24] = { 0 };
	for (unsigned i = 0; i < s->count; i++) {
		worker_stats_t *st = &s->workers[i].stats;
		rrl_dropped += atomic_load_explicit(&st->rrl_dropped, memory_order_relaxed);
		rrl_slipped += atomic_load_explicit(&st->rrl_slipped, memory_order_relaxed);
		tcp_refused += atomic_load_explicit(&st->tcp_source_refused, memory_order_relaxed);
		udp += atomic_load_explicit(&st->udp_queries, memory_order_relaxed);
		tcp += atomic_load_explicit(&st->tcp_queries, memory_order_relaxed);
		dropped += atomic_load_explicit(&st->dropped, memory_order_relaxed);
		for (unsigned r = 0; r < 24; r++) {
			rcodes[r] += atomic_load_explicit(&st->rcode[r], memory_order_relaxed);
		}
	}
	json_t *rc = json_object();
	for (unsigned r = 0; r < sizeof(rcode_names) / sizeof(rcode_names[0]); r++) {
		if (rcode_names[r] != NULL) {
			json_object_set_new(rc, rcode_names[r], json_integer((json_int_t)rcodes[r]));
		}
	}
	size_t zones = 0;
	MDB_txn *txn;
	if (db_read_begin(s->cfg->db, &txn) == CD_OK) {
		zone_store_foreach_zone(s->cfg->db, txn, count_zone, &zones);
		mdb_txn_abort(txn);
	}
	json_t *listen = json_array();
	for (unsigned i = 0; i < s->cfg->listen_count; i++) {
		json_array_append_new(listen, json_string(s->cfg->listen[i].text));
	}
	json_t *limits = json_pack("{s:i, s:I, s:I, s:I}", "rrl_rate", (int)s->cfg->rrl.rate,
	                           "rrl_dropped", (json_int_t)rrl_dropped,
	                           "rrl_slipped", (json_int_t)rrl_slipped,
	                           "tcp_refused_per_source", (json_int_t)tcp_refused);
	return json_pack("{s:b, s:s, s:I, s:i, s:o, s:I, s:{s:I, s:I}, s:o, s:I, s:o}",
	                 "running", 1, "version", PACKAGE_VERSION,
	                 "uptime_seconds", (json_int_t)((uv_hrtime() - s->started) / 1000000000u),
	                 "workers", (int)s->count, "listen", listen, "zones", (json_int_t)zones,
	                 "queries", "udp", (json_int_t)udp, "tcp", (json_int_t)tcp,
	                 "rcodes", rc, "dropped", (json_int_t)dropped, "limits", limits);
}

static void on_signal(uv_signal_t *handle, int signum)
{
	server_t *s = handle->data;
	log_info("received %s, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
	for (unsigned i = 0; i < s->count; i++) {
		uv_async_send(&s->workers[i].stop);
	}
	uv_close((uv_handle_t *)&s->sigint, NULL);
	uv_close((uv_handle_t *)&s->sigterm, NULL);
}

static void log_stats(server_t *s)
{
	uint64_t udp = 0, tcp = 0, nx = 0, refused = 0, dropped = 0, limited = 0;
	for (unsigned i = 0; i < s->count; i++) {
		worker_stats_t *st = &s->workers[i].stats;
		limited += atomic_load_explicit(&st->rrl_dropped, memory_order_relaxed) +
		           atomic_load_explicit(&st->rrl_slipped, memory_order_relaxed);
		udp += atomic_load_explicit(&st->udp_queries, memory_order_relaxed);
		tcp += atomic_load_explicit(&st->tcp_queries, memory_order_relaxed);
		nx += atomic_load_explicit(&st->rcode[DNS_RCODE_NXDOMAIN], memory_order_relaxed);
		refused += atomic_load_explicit(&st->rcode[DNS_RCODE_REFUSED], memory_order_relaxed);
		dropped += atomic_load_explicit(&st->dropped, memory_order_relaxed);
	}
	log_info("served %llu UDP and %llu TCP queries (%llu NXDOMAIN, %llu REFUSED, %llu dropped, "
	         "%llu rate-limited)", (unsigned long long)udp, (unsigned long long)tcp,
	         (unsigned long long)nx, (unsigned long long)refused, (unsigned long long)dropped,
	         (unsigned long long)limited);
}

static void wake_control(void *ctx)
{
	control_wake(ctx);
}

static void wake_engine(void *ctx)
{
	acme_engine_wake(ctx);
}

/* The address of a listen entry without its port, as the ACME engine compares NS hosts. */
static void listen_address_text(const server_listen_t *l, char *buf, size_t len)
{
	if (l->addr.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&l->addr)->sin_addr, buf, (socklen_t)len);
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&l->addr)->sin6_addr, buf, (socklen_t)len);
	}
}

/* Asks every worker to stop: started ones through their loop, the others directly. */
static void stop_workers(server_t *s, unsigned initialised, unsigned started)
{
	for (unsigned i = 0; i < initialised; i++) {
		if (s->workers[i].start_error) {
			continue;
		}
		if (i < started) {
			uv_async_send(&s->workers[i].stop);
		} else {
			on_stop(&s->workers[i].stop);
		}
	}
}

int server_run(const server_config_t *cfg)
{
	for (unsigned i = 0; i < cfg->listen_count; i++) {
		int ret = check_port_free(&cfg->listen[i]);
		if (ret != CD_OK) {
			return ret;
		}
	}
	server_t s = { .count = cfg->workers, .cfg = cfg, .started = uv_hrtime() };
	control_t *control = NULL;
	s.workers = calloc(cfg->workers, sizeof(worker_t));
	if (s.workers == NULL) {
		return CD_ENOMEM;
	}
	int ret = CD_OK;
	conn_limit_t *conn_limit = NULL;
	if (cfg->tcp_max_per_source > 0) {
		ret = conn_limit_create(cfg->tcp_max_per_source,
		                        (size_t)cfg->tcp_max_clients * cfg->workers, &conn_limit);
		if (ret != CD_OK) {
			log_error("cannot create the TCP per-source connection table: %s", cd_strerror(ret));
			free(s.workers);
			return ret;
		}
	}
	unsigned initialised = 0;
	for (; initialised < cfg->workers; initialised++) {
		ret = worker_init(&s.workers[initialised], cfg, initialised);
		s.workers[initialised].conn_limit = conn_limit;
		if (ret != CD_OK) {
			initialised++;
			break;
		}
	}
	if (ret == CD_OK && cfg->sockets_bound != NULL) {
		ret = cfg->sockets_bound(cfg->sockets_bound_ctx);   /* e.g. drop root: before anything runs */
	}
	/* SIGINT and SIGTERM wait (blocked) until the main loop watches them: the
	 * threads started below inherit the mask, so a signal that comes while the
	 * daemon is still starting is handled as a clean shutdown, not the default
	 * kill, and only the main thread ever takes them. */
	sigset_t stop_signals, old_mask;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
	if (ret == CD_OK && cfg->db_dir != NULL) {
		ret = control_start(cfg->db, cfg->db_dir, server_status, &s, &control);
		for (unsigned i = 0; i < initialised; i++) {
			s.workers[i].control = control;
		}
	}
	acme_engine_t *engine = NULL;
	char self_text[SERVER_MAX_LISTEN][64];
	const char *self[SERVER_MAX_LISTEN];
	if (ret == CD_OK && cfg->acme) {
		for (unsigned i = 0; i < cfg->listen_count; i++) {
			listen_address_text(&cfg->listen[i], self_text[i], sizeof(self_text[i]));
			self[i] = self_text[i];
		}
		acme_engine_config_t ecfg = {
			.db = cfg->db, .db_dir = cfg->db_dir, .resolver = cfg->acme_resolver,
			.self_addresses = self, .nself = cfg->listen_count,
			.zone_changed = wake_control, .ctx = control,
		};
		ret = acme_engine_start(&ecfg, &engine);
		if (ret == CD_OK) {
			control_set_acme_wake(control, wake_engine, engine);
		}
	}
	unsigned started = 0;
	if (ret == CD_OK) {
		for (; started < cfg->workers; started++) {
			if (uv_thread_create(&s.workers[started].thread, worker_main,
			                     &s.workers[started]) != 0) {
				log_error("cannot start worker thread %u", started);
				ret = CD_ENOMEM;
				break;
			}
		}
	}
	if (ret == CD_OK) {
		/* The main thread only waits for signals; the workers do the serving. */
		uv_loop_t *main_loop = uv_default_loop();
		uv_signal_init(main_loop, &s.sigint);
		uv_signal_init(main_loop, &s.sigterm);
		s.sigint.data = &s;
		s.sigterm.data = &s;
		uv_signal_start(&s.sigint, on_signal, SIGINT);
		uv_signal_start(&s.sigterm, on_signal, SIGTERM);
		pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
		for (unsigned i = 0; i < cfg->listen_count; i++) {
			log_info("listening on %s (UDP and TCP), %u worker%s", cfg->listen[i].text,
			         cfg->workers, cfg->workers == 1 ? "" : "s");
		}
		uv_run(main_loop, UV_RUN_DEFAULT);
		uv_loop_close(main_loop);
	} else {
		pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
		stop_workers(&s, initialised, started);
	}
	for (unsigned i = 0; i < started; i++) {
		uv_thread_join(&s.workers[i].thread);
	}
	control_set_acme_wake(control, NULL, NULL);
	acme_engine_stop(engine);    /* finishes its step; then nothing wakes the control */
	control_stop(control);       /* after the workers: they may still wake it */
	for (unsigned i = 0; i < initialised; i++) {
		if (!s.workers[i].start_error) {
			worker_destroy(&s.workers[i]);
		}
	}
	if (ret == CD_OK) {
		log_stats(&s);
	}
	free(s.workers);
	conn_limit_destroy(conn_limit);   /* after the workers: their connections release into it */
	return ret;
}
