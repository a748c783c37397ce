#include "server/tcp_framing.h"

#include <string.h>

#include "dns/wire.h"

_Static_assert(sizeof(((tcp_framing_t *)0)->buf) >= 2 + TCP_FRAMING_MSG_MAX,
               "the buffer must hold the largest message a length prefix can state");

void tcp_framing_reset(tcp_framing_t *f)
{
	f->len = 0;
	f->off = 0;
}

size_t tcp_framing_space(tcp_framing_t *f, uint8_t **at)
{
	if (f->off > 0) {
		memmove(f->buf, f->buf + f->off, f->len - f->off);
		f->len -= f->off;
		f->off = 0;
	}
	*at = f->buf + f->len;
	return sizeof(f->buf) - f->len;
}

void tcp_framing_received(tcp_framing_t *f, size_t n)
{
	f->len += n;
}

tcp_framing_result_t tcp_framing_next(tcp_framing_t *f, const uint8_t **msg, size_t *len)
{
	size_t held = f->len - f->off;
	if (held < 2) {
		return TCP_FRAMING_NEED_MORE;
	}
	size_t mlen = wire_read_u16(f->buf + f->off);
	if (mlen == 0) {
		return TCP_FRAMING_BAD_LENGTH;
	}
	if (held < 2 + mlen) {
		return TCP_FRAMING_NEED_MORE;
	}
	*msg = f->buf + f->off + 2;
	*len = mlen;
	f->off += 2 + mlen;
	return TCP_FRAMING_MESSAGE;
}

size_t tcp_framing_pending(const tcp_framing_t *f)
{
	return f->len - f->off;
}
