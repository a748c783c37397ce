#pragma once
/*
 * DNS over TCP (RFC 7766): two-byte length framing, pipelined queries
 * answered in order as they arrive, an idle timeout, a per-worker cap on
 * connections, and back-pressure (reading pauses while answers queue up).
 */

#include "server/worker.h"

int tcp_listener_start(worker_t *w, const server_listen_t *l, tcp_listener_t **out);
void tcp_listener_close(tcp_listener_t *lst);

/* Closes every connection of the worker (at shutdown). */
void tcp_close_all(worker_t *w);
