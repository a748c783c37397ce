#include "server/tcp.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "dns/cookie.h"
#include "dns/query.h"
#include "dns/tsig.h"
#include "dns/wire.h"
#include "server/conn_limit.h"
#include "server/control.h"
#include "server/notify_in.h"
#include "server/tcp_framing.h"
#include "server/xfr_out.h"

#define TCP_BACKLOG 128
#define TCP_MAX_PENDING_WRITES 16   /* stop reading a pipelining client beyond this */
#define TCP_MSG_MAX 65535
#define TCP_XFR_WRITE_TIMEOUT_MS 30000

struct tcp_listener {
	uv_tcp_t handle;
	worker_t *worker;
};

struct tcp_conn {
	uv_tcp_t handle;
	uv_timer_t idle;
	worker_t *worker;
	tcp_conn_t *prev, *next;
	struct sockaddr_storage peer;
	unsigned pending_writes;
	int open_handles;
	bool reading;
	bool closing;
	bool source_counted;          /* holds one of its source's --tcp-max-per-source slots */
	xfr_out_t *xfr;
	tcp_framing_t rx;             /* last: on_connection clears everything before rx.buf */
};

typedef struct {
	uv_write_t req;
	tcp_conn_t *conn;
	uv_buf_t buf;
	uint8_t data[];
} tcp_write_t;

static void conn_close(tcp_conn_t *conn);
static void conn_process(tcp_conn_t *conn);
static void conn_resume(tcp_conn_t *conn);

static void on_handle_closed(uv_handle_t *handle)
{
	tcp_conn_t *conn = handle->data;
	if (--conn->open_handles > 0) {
		return;
	}
	worker_t *w = conn->worker;
	if (conn->prev != NULL) {
		conn->prev->next = conn->next;
	} else {
		w->conns = conn->next;
	}
	if (conn->next != NULL) {
		conn->next->prev = conn->prev;
	}
	w->conn_count--;
	if (conn->source_counted) {
		conn_limit_release(w->conn_limit, (const struct sockaddr *)&conn->peer);
	}
	xfr_out_free(conn->xfr);
	free(conn);
}

static void conn_close(tcp_conn_t *conn)
{
	if (conn->closing) {
		return;
	}
	conn->closing = true;
	uv_timer_stop(&conn->idle);
	uv_close((uv_handle_t *)&conn->idle, on_handle_closed);
	uv_close((uv_handle_t *)&conn->handle, on_handle_closed);
}

static void on_idle(uv_timer_t *timer)
{
	conn_close(timer->data);
}

/*
 * The deadline for the next complete message.  Only a complete message (or
 * the resumption of reading once the client has taken its answers) restarts
 * it, never a partial one: a client trickling bytes, or one that stops
 * reading its answers (reading pauses once TCP_MAX_PENDING_WRITES wait), is
 * cut off when it runs out.
 */
static void restart_idle_timer(tcp_conn_t *conn)
{
	uv_timer_start(&conn->idle, on_idle, conn->worker->cfg->tcp_idle_timeout_ms, 0);
}

static void on_write_done(uv_write_t *req, int status)
{
	tcp_write_t *wr = (tcp_write_t *)req;
	tcp_conn_t *conn = wr->conn;
	free(wr);
	conn->pending_writes--;
	if (status < 0) {
		conn_close(conn);
		return;
	}
	if (!conn->closing && !conn->reading && conn->xfr == NULL &&
	    conn->pending_writes < TCP_MAX_PENDING_WRITES / 2) {
		conn_resume(conn);
	}
}

/* Copies a response (without length prefix) into a framed write and queues it. */
static int send_message(tcp_conn_t *conn, const uint8_t *msg, size_t len, uv_write_cb done)
{
	tcp_write_t *wr = malloc(sizeof(*wr) + 2 + len);
	if (wr == NULL) {
		return CD_ENOMEM;
	}
	wr->conn = conn;
	wire_write_u16(wr->data, (uint16_t)len);
	memcpy(wr->data + 2, msg, len);
	wr->buf = uv_buf_init((char *)wr->data, (unsigned)(2 + len));
	int rc = uv_write(&wr->req, (uv_stream_t *)&conn->handle, &wr->buf, 1, done);
	if (rc != 0) {
		free(wr);
		return CD_EIO;
	}
	conn->pending_writes++;
	return CD_OK;
}

static void xfr_send_next(tcp_conn_t *conn);

static void on_xfr_write_done(uv_write_t *req, int status)
{
	tcp_write_t *wr = (tcp_write_t *)req;
	tcp_conn_t *conn = wr->conn;
	free(wr);
	conn->pending_writes--;
	if (status < 0 || conn->closing) {
		conn_close(conn);
		return;
	}
	xfr_send_next(conn);
}

static void xfr_send_next(tcp_conn_t *conn)
{
	/* A client that stops reading must not pin the transfer's snapshot forever:
	 * each message has to be written within this time. */
	uv_timer_start(&conn->idle, on_idle, TCP_XFR_WRITE_TIMEOUT_MS, 0);
	uint8_t *buf = malloc(TCP_MSG_MAX);
	if (buf == NULL) {
		conn_close(conn);
		return;
	}
	bool last = false;
	size_t len = xfr_out_next(conn->xfr, buf, &last);
	if (len == 0) {
		free(buf);
		conn_close(conn);
		return;
	}
	int ret = send_message(conn, buf, len, last ? on_write_done : on_xfr_write_done);
	free(buf);
	if (ret != CD_OK) {
		conn_close(conn);
		return;
	}
	if (last) {
		char what[512];
		xfr_out_describe(conn->xfr, what, sizeof(what));
		log_info("%s", what);
		xfr_out_free(conn->xfr);
		conn->xfr = NULL;
		/* Back to queries once the last message is written (on_write_done): this
		 * may run inside handle_message, before the request left the buffer. */
	}
}

/* A TSIG failure: NOTAUTH with an unsigned TSIG record naming the error (RFC 8945 5.3.2). */
static bool send_tsig_error(tcp_conn_t *conn, const uint8_t *msg, size_t len, dns_query_t *q,
                            uint16_t tsig_error)
{
	worker_t *w = conn->worker;
	uint8_t out[1024];
	uint16_t rcode = 0;
	const uint8_t *tsig = q->tsig;
	size_t rlen = answer_query(&w->reader, msg, q, QUERY_ERROR, out, 512, &w->tcp_opts, &rcode);
	db_reader_reset(&w->reader);
	rlen = tsig_append_error(out, rlen, sizeof(out), msg, len, tsig, tsig_error);
	worker_count_rcode(w, rcode);
	if (send_message(conn, out, rlen, on_write_done) != CD_OK) {
		conn_close(conn);
		return false;
	}
	return true;
}

/* Handles one complete query; returns false when the connection must stop reading. */
static bool handle_message(tcp_conn_t *conn, const uint8_t *msg, size_t len)
{
	worker_t *w = conn->worker;
	atomic_fetch_add_explicit(&w->stats.tcp_queries, 1, memory_order_relaxed);
	dns_query_t q;
	query_verdict_t verdict = query_parse(msg, len, &q);
	if (verdict == QUERY_OK && q.opcode == DNS_OPCODE_QUERY && q.qclass == DNS_CLASS_IN &&
	    (q.qtype == DNS_TYPE_AXFR || q.qtype == DNS_TYPE_IXFR)) {
		xfr_out_t *x = NULL;
		uint16_t tsig_error = 0;
		int rcode = xfr_out_begin(w->cfg->db, (const struct sockaddr *)&conn->peer, msg, len,
		                          &q, &x, &tsig_error);
		if (rcode == 0) {
			worker_count_rcode(w, DNS_RCODE_NOERROR);
			conn->xfr = x;
			xfr_send_next(conn);
			return false;
		}
		/* Refusals are answered like any error below. */
		q.rcode = (uint16_t)rcode;
		verdict = QUERY_ERROR;
		if (tsig_error != 0) {
			return send_tsig_error(conn, msg, len, &q, tsig_error);
		}
	}
	uint8_t out[TCP_MSG_MAX];
	uint16_t rcode = 0;
	size_t rlen;
	if (verdict == QUERY_OK && q.opcode == DNS_OPCODE_NOTIFY) {
		bool accepted;
		rlen = notify_in_answer(w->cfg->db, (const struct sockaddr *)&conn->peer, msg, len, &q,
		                        out, sizeof(out), &rcode, &accepted);
		if (accepted) {
			control_wake(w->control);
		}
	} else {
		rlen = answer_query(&w->reader, msg, &q, verdict, out, sizeof(out), &w->tcp_opts,
		                    &rcode);
		db_reader_reset(&w->reader);
		if (q.cookie != NULL && rlen > 0) {
			cookie_t cookie;
			cookie_check(&w->cfg->cookies, &q, (const struct sockaddr *)&conn->peer,
			             (uint32_t)time(NULL), &cookie);
			rlen = cookie_put(&q, &cookie, out, rlen, sizeof(out));
		}
	}
	if (rlen == 0) {
		return true;
	}
	worker_count_rcode(w, rcode);
	if (send_message(conn, out, rlen, on_write_done) != CD_OK) {
		conn_close(conn);
		return false;
	}
	return conn->pending_writes < TCP_MAX_PENDING_WRITES;
}

/* Answers every complete message in the buffer, in order (RFC 7766 6.2.1.1). */
static void conn_process(tcp_conn_t *conn)
{
	bool go_on = true;
	while (go_on && !conn->closing && conn->xfr == NULL) {
		const uint8_t *msg;
		size_t mlen;
		tcp_framing_result_t fr = tcp_framing_next(&conn->rx, &msg, &mlen);
		if (fr == TCP_FRAMING_BAD_LENGTH) {
			conn_close(conn);
			return;
		}
		if (fr == TCP_FRAMING_NEED_MORE) {
			break;
		}
		restart_idle_timer(conn);
		go_on = handle_message(conn, msg, mlen);
	}
	if ((!go_on || conn->xfr != NULL) && conn->reading && !conn->closing) {
		uv_read_stop((uv_stream_t *)&conn->handle);
		conn->reading = false;
	}
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	tcp_conn_t *conn = handle->data;
	uint8_t *at;
	buf->len = tcp_framing_space(&conn->rx, &at);   /* 0 (ENOBUFS: closed) only while paused */
	buf->base = (char *)at;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	tcp_conn_t *conn = stream->data;
	if (nread < 0) {
		conn_close(conn);   /* EOF or error */
		return;
	}
	tcp_framing_received(&conn->rx, (size_t)nread);
	conn_process(conn);
}

static void conn_resume(tcp_conn_t *conn)
{
	conn_process(conn);
	if (conn->closing || conn->xfr != NULL || conn->pending_writes >= TCP_MAX_PENDING_WRITES) {
		return;
	}
	if (uv_read_start((uv_stream_t *)&conn->handle, on_alloc, on_read) == 0) {
		conn->reading = true;
		restart_idle_timer(conn);
	} else {
		conn_close(conn);
	}
}

static void on_connection(uv_stream_t *server, int status)
{
	tcp_listener_t *lst = server->data;
	worker_t *w = lst->worker;
	if (status < 0) {
		return;
	}
	tcp_conn_t *conn = malloc(sizeof(*conn));
	if (conn == NULL) {
		return;
	}
	memset(conn, 0, offsetof(tcp_conn_t, rx.buf));
	conn->worker = w;
	uv_tcp_init(&w->loop, &conn->handle);
	uv_timer_init(&w->loop, &conn->idle);
	conn->handle.data = conn;
	conn->idle.data = conn;
	conn->open_handles = 2;
	conn->next = w->conns;
	if (w->conns != NULL) {
		w->conns->prev = conn;
	}
	w->conns = conn;
	w->conn_count++;
	if (uv_accept(server, (uv_stream_t *)&conn->handle) != 0) {
		conn_close(conn);
		return;
	}
	if (w->conn_count > w->cfg->tcp_max_clients) {
		conn_close(conn);   /* over the cap: accept and drop, so the backlog drains */
		return;
	}
	int namelen = sizeof(conn->peer);
	if (uv_tcp_getpeername(&conn->handle, (struct sockaddr *)&conn->peer, &namelen) != 0) {
		conn_close(conn);   /* already gone */
		return;
	}
	if (w->conn_limit != NULL) {
		if (!conn_limit_acquire(w->conn_limit, (const struct sockaddr *)&conn->peer)) {
			atomic_fetch_add_explicit(&w->stats.tcp_source_refused, 1, memory_order_relaxed);
			conn_close(conn);   /* the source holds --tcp-max-per-source connections already */
			return;
		}
		conn->source_counted = true;
	}
	uv_tcp_nodelay(&conn->handle, 1);
	conn_resume(conn);
}

int tcp_listener_start(worker_t *w, const server_listen_t *l, tcp_listener_t **out)
{
	tcp_listener_t *lst = calloc(1, sizeof(*lst));
	if (lst == NULL) {
		return CD_ENOMEM;
	}
	lst->worker = w;
	int fd = server_bind_socket(l, SOCK_STREAM);
	if (fd < 0) {
		log_error("cannot listen on TCP %s: %s", l->text, strerror(-fd));
		free(lst);
		return CD_EIO;
	}
	uv_tcp_init(&w->loop, &lst->handle);
	lst->handle.data = lst;
	int rc = uv_tcp_open(&lst->handle, fd);
	if (rc == 0) {
		rc = uv_listen((uv_stream_t *)&lst->handle, TCP_BACKLOG, on_connection);
	}
	if (rc != 0) {
		log_error("cannot listen on TCP %s: %s", l->text, uv_strerror(rc));
		tcp_listener_close(lst);
		return CD_EIO;
	}
	*out = lst;
	return CD_OK;
}

static void on_listener_closed(uv_handle_t *handle)
{
	free(handle->data);
}

void tcp_listener_close(tcp_listener_t *lst)
{
	uv_close((uv_handle_t *)&lst->handle, on_listener_closed);
}

void tcp_close_all(worker_t *w)
{
	for (tcp_conn_t *c = w->conns; c != NULL; c = c->next) {
		conn_close(c);
	}
}
