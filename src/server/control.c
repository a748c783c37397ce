#include "server/control.h"

#include <errno.h>
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
#include "server/notify.h"

#define CONTROL_REQUEST_MAX 4096
#define CONTROL_WATCH_MS 2000

struct control {
	uv_loop_t loop;
	uv_thread_t thread;
	uv_async_t stop;
	uv_pipe_t server;
	uv_timer_t watch;
	notifier_t *notifier;
	db_t *db;
	control_status_cb status;
	void *status_ctx;
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

static void handle_request(client_t *cl, const char *line)
{
	control_t *c = cl->control;
	json_error_t err;
	json_t *req = json_loads(line, 0, &err);
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	json_t *out;
	if (cmd == NULL) {
		out = json_pack("{s:b, s:s}", "ok", 0, "error", "a request is {\"cmd\": ...}");
	} else if (strcmp(cmd, "status") == 0) {
		out = c->status(c->status_ctx);
		if (out != NULL && c->notifier != NULL) {
			json_object_set_new(out, "notify_pending",
			                    json_integer(notifier_pending(c->notifier)));
		}
	} else if (strcmp(cmd, "zone-changed") == 0) {
		if (c->notifier != NULL) {
			notifier_check(c->notifier);
		}
		out = json_pack("{s:b}", "ok", 1);
	} else {
		out = json_pack("{s:b, s:s}", "ok", 0, "error", "unknown command");
	}
	json_decref(req);
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
	cl->buf[cl->len] = '\0';
	char *nl = strchr(cl->buf, '\n');
	if (nl != NULL) {
		*nl = '\0';
		uv_read_stop(stream);
		handle_request(cl, cl->buf);
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

static void on_watch(uv_timer_t *timer)
{
	control_t *c = timer->data;
	if (c->notifier != NULL) {
		notifier_check(c->notifier);
	}
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
	/* Clients still connected: their handles carry their client_t. */
	uv_walk(&c->loop, close_client, NULL);
}

static void control_main(void *arg)
{
	control_t *c = arg;
	/* Announce changes made while we were down (see notify.h). */
	if (c->notifier != NULL) {
		notifier_check(c->notifier);
	}
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
	if (rc == 0) {
		chmod(c->path, 0600);
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
	uv_run(&c->loop, UV_RUN_DEFAULT);
	uv_loop_close(&c->loop);
	unlink(c->path);
	free(c);
}
