#pragma once
/*
 * DNS over TCP message framing (RFC 1035 4.2.2, RFC 7766 8): every message
 * is preceded by its length as a two-byte big-endian integer.  This module
 * only cuts a byte stream into messages; it does no I/O and allocates
 * nothing, so it can be driven by a libuv read callback or by a test feeding
 * arbitrary chunks.
 *
 * A tcp_framing_t owns its buffer, large enough for one message of the
 * largest size plus its prefix, so any valid length fits and a sender can
 * never make it grow.  Pipelined messages (several in one read, or one split
 * over many reads) are handed out in order.
 *
 * Use:
 *     room = tcp_framing_space(f, &at);      // read up to room bytes into at
 *     tcp_framing_received(f, n);            // n bytes were read there
 *     while (tcp_framing_next(f, &msg, &len) == TCP_FRAMING_MESSAGE)
 *             handle(msg, len);
 *
 * Ownership: a message pointer points into the framer's buffer and stays
 * valid until the next tcp_framing_space() call, which moves unread bytes to
 * the front.  A tcp_framing_t whose len and off are zero is empty (memset
 * the two, or call tcp_framing_reset(); the buffer needs no clearing).
 */

#include <stddef.h>
#include <stdint.h>

#define TCP_FRAMING_MSG_MAX 65535   /* the largest length a 2-byte prefix can state */

typedef struct {
	size_t len;                                /* bytes held in buf */
	size_t off;                                /* bytes at the front already handed out */
	uint8_t buf[2 + TCP_FRAMING_MSG_MAX];
} tcp_framing_t;

typedef enum {
	TCP_FRAMING_NEED_MORE = 0,   /* no complete message held: read more */
	TCP_FRAMING_MESSAGE,         /* *msg, *len: the next message (len >= 1) */
	TCP_FRAMING_BAD_LENGTH,      /* the next prefix says 0 bytes: no DNS message is
	                                empty, so the stream is broken: close the connection */
} tcp_framing_result_t;

/* Empties the framer. */
void tcp_framing_reset(tcp_framing_t *f);

/*
 * Where the next received bytes go: moves the bytes not yet handed out to
 * the front of the buffer (invalidating message pointers), sets *at and
 * returns how many bytes fit there.  Returns 0 only while complete messages
 * are held that the caller has not taken yet (the buffer always has room for
 * the rest of a partial message).
 */
size_t tcp_framing_space(tcp_framing_t *f, uint8_t **at);

/* Records that n bytes (n <= the room tcp_framing_space returned) were written at *at. */
void tcp_framing_received(tcp_framing_t *f, size_t n);

/*
 * Takes the next complete message.  TCP_FRAMING_NEED_MORE and
 * TCP_FRAMING_BAD_LENGTH leave the framer unchanged (asking again gives the
 * same answer until more bytes arrive).
 */
tcp_framing_result_t tcp_framing_next(tcp_framing_t *f, const uint8_t **msg, size_t *len);

/* Bytes held that were not handed out yet (a partial message, or messages not taken). */
size_t tcp_framing_pending(const tcp_framing_t *f);
