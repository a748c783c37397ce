#include "server/udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "dns/cookie.h"
#include "dns/query.h"
#include "dns/wire.h"
#include "server/control.h"
#include "server/notify_in.h"
#include "server/rrl.h"

#define UDP_BATCH 64
#define UDP_QUERY_MAX 4096        /* larger queries are truncated by the kernel and dropped */
#define UDP_BATCHES_PER_WAKEUP 8  /* then yield to the loop so TCP is served too */

struct udp_endpoint {
	uv_poll_t poll;
	worker_t *worker;
	int fd;
	struct mmsghdr in[UDP_BATCH];
	struct mmsghdr out[UDP_BATCH];
	struct iovec in_iov[UDP_BATCH];
	struct iovec out_iov[UDP_BATCH];
	struct sockaddr_storage peers[UDP_BATCH];
	uint8_t *in_buf;     /* UDP_BATCH x UDP_QUERY_MAX */
	uint8_t *out_buf;    /* UDP_BATCH x udp_payload */
	size_t out_size;
};

/*
 * Adds the DNS cookie to an answer and applies rate limiting (a valid server
 * cookie exempts).  Returns the length to send: len, more with a cookie, less
 * when slipped, 0 when dropped.
 */
static size_t cookie_and_limit(worker_t *w, const struct sockaddr *peer, const dns_query_t *q,
                               uint8_t *out, size_t len, size_t cap, uint16_t rcode,
                               uint32_t now, uint64_t now_ms)
{
	cookie_t cookie = { .verdict = COOKIE_NONE };
	if (q->cookie != NULL) {
		cookie_check(&w->cfg->cookies, q, peer, now, &cookie);
		len = cookie_put(q, &cookie, out, len, cap);
	}
	if (w->rrl == NULL || cookie.verdict == COOKIE_VALID) {
		return len;
	}
	switch (rrl_charge(w->rrl, peer, q, out, len, rcode, w->udp_info.wildcard, now_ms)) {
	case RRL_DROP:
		atomic_fetch_add_explicit(&w->stats.rrl_dropped, 1, memory_order_relaxed);
		return 0;
	case RRL_SLIP:
		atomic_fetch_add_explicit(&w->stats.rrl_slipped, 1, memory_order_relaxed);
		return rrl_slip(out, len, cookie.verdict != COOKIE_NONE);
	default:
		return len;
	}
}

/* Answers one received batch; returns how many answers were prepared in ep->out. */
static unsigned answer_batch(udp_endpoint_t *ep, unsigned received)
{
	worker_t *w = ep->worker;
	unsigned answers = 0;
	uint32_t now = (uint32_t)time(NULL);   /* cookie timestamps: Unix seconds */
	uint64_t now_ms = uv_now(&w->loop);   /* rate limiting */
	for (unsigned i = 0; i < received; i++) {
		struct mmsghdr *m = &ep->in[i];
		if (m->msg_hdr.msg_flags & MSG_TRUNC) {
			atomic_fetch_add_explicit(&w->stats.dropped, 1, memory_order_relaxed);
			continue;
		}
		const uint8_t *pkt = ep->in_iov[i].iov_base;
		dns_query_t q;
		query_verdict_t verdict = query_parse(pkt, m->msg_len, &q);
		uint8_t *out = ep->out_buf + (size_t)answers * ep->out_size;
		uint16_t rcode = 0;
		size_t len;
		if (verdict == QUERY_OK && q.opcode == DNS_OPCODE_NOTIFY) {
			bool accepted;
			len = notify_in_answer(w->cfg->db, (const struct sockaddr *)&ep->peers[i], pkt,
			                       m->msg_len, &q, out, ep->out_size, &rcode, &accepted);
			if (accepted) {
				control_wake(w->control);
			}
			w->udp_info.wildcard = NULL;
		} else {
			len = answer_query(&w->reader, pkt, &q, verdict, out, ep->out_size, &w->udp_opts,
			                   &rcode);
		}
		if (len == 0) {
			atomic_fetch_add_explicit(&w->stats.dropped, 1, memory_order_relaxed);
			continue;
		}
		len = cookie_and_limit(w, (const struct sockaddr *)&ep->peers[i], &q, out, len,
		                       ep->out_size, rcode, now, now_ms);
		if (len == 0) {
			continue;   /* rate limited */
		}
		worker_count_rcode(w, rcode);
		struct mmsghdr *o = &ep->out[answers];
		ep->out_iov[answers].iov_base = out;
		ep->out_iov[answers].iov_len = len;
		o->msg_hdr.msg_iov = &ep->out_iov[answers];
		o->msg_hdr.msg_iovlen = 1;
		o->msg_hdr.msg_name = &ep->peers[i];
		o->msg_hdr.msg_namelen = m->msg_hdr.msg_namelen;
		o->msg_hdr.msg_control = NULL;
		o->msg_hdr.msg_controllen = 0;
		o->msg_hdr.msg_flags = 0;
		answers++;
	}
	atomic_fetch_add_explicit(&w->stats.udp_queries, received, memory_order_relaxed);
	return answers;
}

static void send_batch(udp_endpoint_t *ep, unsigned count)
{
	unsigned sent = 0;
	while (sent < count) {
		int n = sendmmsg(ep->fd, ep->out + sent, count - sent, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			/* EAGAIN: the socket buffer is full; UDP answers may be dropped. Any
			 * other error concerns one peer (e.g. EPERM by a firewall): skip it. */
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				sent++;
				continue;
			}
			atomic_fetch_add_explicit(&ep->worker->stats.dropped, count - sent,
			                          memory_order_relaxed);
			return;
		}
		sent += (unsigned)n;
	}
}

static void reset_in_headers(udp_endpoint_t *ep)
{
	for (unsigned i = 0; i < UDP_BATCH; i++) {
		ep->in_iov[i].iov_base = ep->in_buf + (size_t)i * UDP_QUERY_MAX;
		ep->in_iov[i].iov_len = UDP_QUERY_MAX;
		struct msghdr *h = &ep->in[i].msg_hdr;
		h->msg_name = &ep->peers[i];
		h->msg_namelen = sizeof(ep->peers[i]);
		h->msg_iov = &ep->in_iov[i];
		h->msg_iovlen = 1;
		h->msg_control = NULL;
		h->msg_controllen = 0;
		h->msg_flags = 0;
	}
}

static void on_readable(uv_poll_t *handle, int status, int events)
{
	udp_endpoint_t *ep = handle->data;
	if (status < 0 || !(events & UV_READABLE)) {
		return;
	}
	for (int round = 0; round < UDP_BATCHES_PER_WAKEUP; round++) {
		reset_in_headers(ep);
		int n = recvmmsg(ep->fd, ep->in, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			return;   /* EAGAIN: drained; errors on UDP are per-datagram and transient */
		}
		/* One snapshot of the database answers the whole batch. */
		unsigned answers = answer_batch(ep, (unsigned)n);
		db_reader_reset(&ep->worker->reader);
		send_batch(ep, answers);
		if (n < UDP_BATCH) {
			return;
		}
	}
}

int udp_endpoint_start(worker_t *w, const server_listen_t *l, udp_endpoint_t **out)
{
	udp_endpoint_t *ep = calloc(1, sizeof(*ep));
	if (ep == NULL) {
		return CD_ENOMEM;
	}
	ep->worker = w;
	ep->out_size = w->cfg->udp_payload;
	ep->in_buf = malloc((size_t)UDP_BATCH * UDP_QUERY_MAX);
	ep->out_buf = malloc((size_t)UDP_BATCH * ep->out_size);
	if (ep->in_buf == NULL || ep->out_buf == NULL) {
		free(ep->in_buf);
		free(ep->out_buf);
		free(ep);
		return CD_ENOMEM;
	}
	ep->fd = server_bind_socket(l, SOCK_DGRAM);
	if (ep->fd < 0) {
		log_error("cannot listen on UDP %s: %s", l->text, strerror(-ep->fd));
		free(ep->in_buf);
		free(ep->out_buf);
		free(ep);
		return CD_EIO;
	}
	int rc = uv_poll_init(&w->loop, &ep->poll, ep->fd);
	if (rc == 0) {
		ep->poll.data = ep;
		rc = uv_poll_start(&ep->poll, UV_READABLE, on_readable);
	}
	if (rc != 0) {
		log_error("cannot poll UDP %s: %s", l->text, uv_strerror(rc));
		close(ep->fd);
		free(ep->in_buf);
		free(ep->out_buf);
		free(ep);
		return CD_EIO;
	}
	*out = ep;
	return CD_OK;
}

static void on_closed(uv_handle_t *handle)
{
	udp_endpoint_t *ep = handle->data;
	close(ep->fd);
	free(ep->in_buf);
	free(ep->out_buf);
	free(ep);
}

void udp_endpoint_close(udp_endpoint_t *ep)
{
	uv_poll_stop(&ep->poll);
	uv_close((uv_handle_t *)&ep->poll, on_closed);
}
