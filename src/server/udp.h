#pragma once
/*
 * UDP for one worker and one address: recvmmsg a batch, answer every query
 * from one renewed LMDB snapshot, sendmmsg the answers.  Buffers are
 * allocated once at start; nothing is allocated per query.
 */

#include "server/worker.h"

/* Binds and starts serving.  Returns 0 or a negative CD_E* code (logged). */
int udp_endpoint_start(worker_t *w, const server_listen_t *l, udp_endpoint_t **out);

/* Stops polling and closes the socket; the memory is freed in the close callback. */
void udp_endpoint_close(udp_endpoint_t *ep);
