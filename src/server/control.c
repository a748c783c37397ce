#include "server/control.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "common/error.h"
#include "common/log.h"
#include "db/tsig_store.h"
#include "db/zone_conf.h"
#include "dns/dname.h"
#include "server/control_proto.h"
#include "server/notify.h"
#include "server/xfr_in.h"

#define CONTROL_WATCH_MS 2000

typedef struct follow {
	struct follow *next;
	struct control *control;
	uv_work_t work;
	uint8_t apex[DNS_MAX_NAME];
	uint64_t next_check;      /* uv_now() milliseconds */
	bool running;
	bool present;             /* still configured at the last scan */
	xfr_in_request_t req;
	xfr_in_result_t res;
	int ret;
} follow_t;

struct control {
	uv_loop_t loop;
	uv_async_t wake;
	follow_t *follows;
	uv_thread_t thread;
	uv_async_t stop;
	uv_pipe_t server;
	uv_timer_t watch;
	notifier_t *notifier;
	db_t *db;
	control_status_cb status;
	void *status_ctx;
	pthread_mutex_t acme_lock;     /* guards acme_wake, set from the main thread */
	void (*acme_wake)(void *ctx);
	void *acme_ctx;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

typedef struct {
	uv_pipe_t pipe;
	control_t *control;
	size_t len;
	char buf[CONTROL_REQUEST_MAX];
} client_t;

typedef struct {
	uv_write_t req;
	char *text;
} reply_t;

static void on_client_closed(uv_handle_t *handle)
{
	free(handle->data);
}

static void on_reply_written(uv_write_t *req, int status)
{
	(void)status;
	reply_t *r = (reply_t *)req;
	client_t *cl = req->handle->data;
	free(r->text);
	free(r);
	uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
}

static void reply(client_t *cl, json_t *obj)
{
	reply_t *r = calloc(1, sizeof(*r));
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (r == NULL || text == NULL) {
		free(r);
		free(text);
		uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
		return;
	}
	size_t len = strlen(text);
	char *line = realloc(text, len + 2);
	if (line == NULL) {
		free(text);
		free(r);
		uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
		return;
	}
	line[len] = '\n';
	line[len + 1] = '\0';
	r->text = line;
	uv_buf_t buf = uv_buf_init(line, (unsigned)(len + 1));
	if (uv_write(&r->req, (uv_stream_t *)&cl->pipe, &buf, 1, on_reply_written) != 0) {
		free(line);
		free(r);
		uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
	}
}

static void handle_request(client_t *cl, const char *line, size_t len)
{
	control_t *c = cl->control;
	control_request_t req;
	const char *error;
	json_t *out;
	if (control_request_parse(line, len, &req, &error) != CD_OK) {
		out = json_pack("{s:b, s:s}", "ok", 0, "error", error);
	} else if (req.cmd == CONTROL_CMD_STATUS) {
		out = c->status(c->status_ctx);
		if (out != NULL && c->notifier != NULL) {
			json_object_set_new(out, "notify_pending",
			                    json_integer(notifier_pending(c->notifier)));
		}
	} else if (req.cmd == CONTROL_CMD_ACME_WAKE) {
		pthread_mutex_lock(&c->acme_lock);
		if (c->acme_wake != NULL) {
			c->acme_wake(c->acme_ctx);
		}
		pthread_mutex_unlock(&c->acme_lock);
		out = json_pack("{s:b}", "ok", 1);
	} else {   /* zone-changed: every zone's serial is compared, whichever it names */
		if (c->notifier != NULL) {
			notifier_check(c->notifier);
		}
		out = json_pack("{s:b}", "ok", 1);
	}
	reply(cl, out);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	client_t *cl = handle->data;
	buf->base = cl->buf + cl->len;
	buf->len = sizeof(cl->buf) - 1 - cl->len;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	client_t *cl = stream->data;
	if (nread < 0) {
		uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
		return;
	}
	cl->len += (size_t)nread;
	long end = control_request_end(cl->buf, cl->len);
	if (end >= 0) {
		uv_read_stop(stream);
		handle_request(cl, cl->buf, (size_t)end);
	} else if (cl->len >= sizeof(cl->buf) - 1) {
		uv_close((uv_handle_t *)&cl->pipe, on_client_closed);   /* request too long */
	}
}

static void on_connection(uv_stream_t *server, int status)
{
	control_t *c = server->data;
	if (status < 0) {
		return;
	}
	client_t *cl = calloc(1, sizeof(*cl));
	if (cl == NULL) {
		return;
	}
	cl->control = c;
	uv_pipe_init(&c->loop, &cl->pipe, 0);
	cl->pipe.data = cl;
	if (uv_accept(server, (uv_stream_t *)&cl->pipe) != 0 ||
	    uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_read) != 0) {
		uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
	}
}

static void follow_work(uv_work_t *req)
{
	follow_t *f = req->data;
	f->ret = xfr_in_run(f->control->db, &f->req, &f->res);
}

static void follow_done(uv_work_t *req, int status)
{
	follow_t *f = req->data;
	f->running = false;
	uint64_t now = uv_now(&f->control->loop);
	if (status != 0 || f->ret != CD_OK) {
		log_warning("zone %s: pulling from the primary %s failed: %s; retrying in %u s",
		            f->req.zone, f->req.primary_text,
		            f->res.error[0] ? f->res.error : cd_strerror(f->ret), f->res.retry);
		f->next_check = now + (uint64_t)(f->res.retry ? f->res.retry : 300) * 1000;
		return;
	}
	if (f->res.changed) {
		log_info("zone %s: serial %u -> %u from the primary %s (%s, %zu records)", f->req.zone,
		         f->res.old_serial, f->res.serial, f->req.primary_text,
		         f->res.full ? "AXFR" : "IXFR", f->res.records);
		if (f->control->notifier != NULL) {
			notifier_check(f->control->notifier);   /* pass it on to our own secondaries */
		}
	}
	f->next_check = now + (uint64_t)(f->res.refresh ? f->res.refresh : 3600) * 1000;
}

/* Reads a followed zone's "primary" into a transfer request.  Returns false if unusable. */
static bool primary_request(control_t *c, MDB_txn *txn, const uint8_t *apex, const json_t *primary,
                            xfr_in_request_t *req)
{
	memset(req, 0, sizeof(*req));
	const char *addr = json_string_value(json_object_get(primary, "address"));
	json_int_t port = json_integer_value(json_object_get(primary, "port"));
	const char *key = json_string_value(json_object_get(primary, "tsig"));
	if (addr == NULL || port <= 0 || port > 65535) {
		return false;
	}
	memcpy(req->apex, apex, (size_t)dname_wire_length(apex, DNS_MAX_NAME));
	dname_to_str(apex, req->zone, sizeof(req->zone));
	if (uv_ip4_addr(addr, (int)port, (struct sockaddr_in *)&req->primary) == 0) {
		req->primary_len = sizeof(struct sockaddr_in);
	} else if (uv_ip6_addr(addr, (int)port, (struct sockaddr_in6 *)&req->primary) == 0) {
		req->primary_len = sizeof(struct sockaddr_in6);
	} else {
		return false;
	}
	snprintf(req->primary_text, sizeof(req->primary_text),
	         strchr(addr, ':') ? "[%s]:%lld" : "%s:%lld", addr, (long long)port);
	if (key != NULL) {
		if (tsig_store_get(c->db, txn, key, &req->key) != CD_OK) {
			log_warning("zone %s: the primary's TSIG key %s is missing", req->zone, key);
			return false;
		}
		req->has_key = true;
	}
	return true;
}

typedef struct {
	control_t *c;
	MDB_txn *txn;
	bool now;
} scan_ctx_t;

static int scan_follow(void *arg, const uint8_t *apex, const json_t *conf)
{
	scan_ctx_t *sc = arg;
	control_t *c = sc->c;
	json_t *primary = json_object_get(conf, "primary");
	if (primary == NULL) {
		return 0;
	}
	follow_t *f = c->follows;
	while (f != NULL && !dname_equal(f->apex, apex)) {
		f = f->next;
	}
	if (f == NULL) {
		f = calloc(1, sizeof(*f));
		if (f == NULL) {
			return 0;
		}
		f->control = c;
		f->work.data = f;
		memcpy(f->apex, apex, (size_t)dname_wire_length(apex, DNS_MAX_NAME));
		f->next = c->follows;
		c->follows = f;
	}
	f->present = true;
	if (sc->now) {
		f->next_check = 0;
	}
	if (f->running || uv_now(&c->loop) < f->next_check) {
		return 0;
	}
	if (!primary_request(c, sc->txn, apex, primary, &f->req)) {
		f->next_check = uv_now(&c->loop) + 300000;
		return 0;
	}
	f->running = true;
	if (uv_queue_work(&c->loop, &f->work, follow_work, follow_done) != 0) {
		f->running = false;
	}
	return 0;
}

/* Starts the transfers that are due (all of them when now is set). */
static void check_follows(control_t *c, bool now)
{
	MDB_txn *txn;
	if (db_read_begin(c->db, &txn) != CD_OK) {
		return;
	}
	for (follow_t *f = c->follows; f != NULL; f = f->next) {
		f->present = false;
	}
	scan_ctx_t sc = { c, txn, now };
	zone_conf_foreach(c->db, txn, scan_follow, &sc);
	mdb_txn_abort(txn);
	follow_t **p = &c->follows;
	while (*p != NULL) {
		if (!(*p)->present && !(*p)->running) {
			follow_t *gone = *p;
			*p = gone->next;
			free(gone);
		} else {
			p = &(*p)->next;
		}
	}
}

static void on_wake(uv_async_t *handle)
{
	control_t *c = handle->data;
	if (c->notifier != NULL) {
		notifier_check(c->notifier);   /* e.g. the ACME engine wrote a challenge record */
	}
	check_follows(c, true);
}

void control_set_acme_wake(control_t *c, void (*wake)(void *ctx), void *ctx)
{
	if (c == NULL) {
		return;
	}
	pthread_mutex_lock(&c->acme_lock);
	c->acme_wake = wake;
	c->acme_ctx = ctx;
	pthread_mutex_unlock(&c->acme_lock);
}

void control_wake(control_t *c)
{
	if (c != NULL) {
		uv_async_send(&c->wake);
	}
}

static void on_watch(uv_timer_t *timer)
{
	control_t *c = timer->data;
	if (c->notifier != NULL) {
		notifier_check(c->notifier);
	}
	check_follows(c, false);
}

/* At shutdown the only handles not yet closing are connected clients. */
static void close_client(uv_handle_t *handle, void *arg)
{
	(void)arg;
	if (!uv_is_closing(handle) && handle->type == UV_NAMED_PIPE) {
		uv_close(handle, on_client_closed);
	}
}

static void on_stop(uv_async_t *handle)
{
	control_t *c = handle->data;
	if (c->notifier != NULL) {
		notifier_close(c->notifier);
		c->notifier = NULL;
	}
	uv_timer_stop(&c->watch);
	uv_close((uv_handle_t *)&c->watch, NULL);
	uv_close((uv_handle_t *)&c->server, NULL);
	uv_close((uv_handle_t *)&c->stop, NULL);
	uv_close((uv_handle_t *)&c->wake, NULL);
	/* Clients still connected: their handles carry their client_t. */
	uv_walk(&c->loop, close_client, NULL);
}

static void control_main(void *arg)
{
	control_t *c = arg;
	pthread_setname_np(pthread_self(), "cdns-control");
	/* Announce changes made while we were down (see notify.h), catch up with primaries. */
	if (c->notifier != NULL) {
		notifier_check(c->notifier);
	}
	check_follows(c, true);
	uv_run(&c->loop, UV_RUN_DEFAULT);
}

/* A socket file left by a crashed daemon is removed; a live one is an error. */
static int claim_socket_path(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return CD_EIO;
	}
	int rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	close(fd);
	if (rc == 0) {
		return CD_EEXISTS;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		log_error("cannot remove the stale control socket %s: %s", path, strerror(errno));
		return CD_EIO;
	}
	return CD_OK;
}

int control_start(db_t *db, const char *db_dir, control_status_cb status, void *ctx,
                  control_t **out)
{
	control_t *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return CD_ENOMEM;
	}
	c->db = db;
	pthread_mutex_init(&c->acme_lock, NULL);
	c->status = status;
	c->status_ctx = ctx;
	if ((size_t)snprintf(c->path, sizeof(c->path), "%s/control.sock", db_dir) >= sizeof(c->path)) {
		log_error("database path %s is too long for a control socket", db_dir);
		free(c);
		return CD_EIO;
	}
	int ret = claim_socket_path(c->path);
	if (ret != CD_OK) {
		if (ret == CD_EEXISTS) {
			log_error("another certdnsd is running on database %s (control socket %s answers)",
			          db_dir, c->path);
		}
		free(c);
		return ret;
	}
	uv_loop_init(&c->loop);
	uv_pipe_init(&c->loop, &c->server, 0);
	c->server.data = c;
	int rc = uv_pipe_bind(&c->server, c->path);
	if (rc == 0 && chmod(c->path, 0600) != 0) {   /* only our user may drive the daemon */
		rc = -errno;   /* libuv's codes are negated errno values on Unix */
	}
	if (rc == 0) {
		rc = uv_listen((uv_stream_t *)&c->server, 16, on_connection);
	}
	if (rc != 0) {
		log_error("cannot listen on control socket %s: %s", c->path, uv_strerror(rc));
		uv_close((uv_handle_t *)&c->server, NULL);
		uv_run(&c->loop, UV_RUN_DEFAULT);
		uv_loop_close(&c->loop);
		free(c);
		return CD_EIO;
	}
	uv_async_init(&c->loop, &c->stop, on_stop);
	c->stop.data = c;
	uv_async_init(&c->loop, &c->wake, on_wake);
	c->wake.data = c;
	uv_timer_init(&c->loop, &c->watch);
	c->watch.data = c;
	uv_timer_start(&c->watch, on_watch, CONTROL_WATCH_MS, CONTROL_WATCH_MS);
	if (notifier_start(&c->loop, db, &c->notifier) != CD_OK) {
		c->notifier = NULL;   /* zones are still served; secondaries poll by SOA */
	}
	if (uv_thread_create(&c->thread, control_main, c) != 0) {
		log_error("cannot start the control thread");
		on_stop(&c->stop);
		uv_run(&c->loop, UV_RUN_DEFAULT);
		uv_loop_close(&c->loop);
		unlink(c->path);
		free(c);
		return CD_ENOMEM;
	}
	*out = c;
	return CD_OK;
}

void control_stop(control_t *c)
{
	if (c == NULL) {
		return;
	}
	uv_async_send(&c->stop);
	uv_thread_join(&c->thread);
	uv_run(&c->loop, UV_RUN_DEFAULT);   /* also waits for transfers in the thread pool */
	uv_loop_close(&c->loop);
	unlink(c->path);
	while (c->follows != NULL) {
		follow_t *f = c->follows;
		c->follows = f->next;
		free(f);
	}
	pthread_mutex_destroy(&c->acme_lock);
	free(c);
}
