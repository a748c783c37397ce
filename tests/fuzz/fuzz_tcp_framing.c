/*
 * fuzz_tcp_framing: DNS over TCP length framing (src/server/tcp_framing.c)
 * fed a byte stream in arbitrary chunks by a reader that sometimes pauses
 * (does not take the messages held), as tcp.c does under back-pressure.
 *
 * Input: 4 bytes seeding the chunk sizes and pauses, then the stream.
 * The messages the framer yields must be exactly those of a reference parse
 * of the whole stream, in order and byte for byte; a zero length must be
 * reported exactly where the reference meets it, after every message before
 * it was taken; the framer must always have room while it holds no complete
 * message; and what it holds at the end must be the reference's remainder.
 */
#include "server/tcp_framing.h"

#include "fuzzing.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static uint32_t next_random(uint32_t *s)
{
	/* xorshift32: the same chunking for the same input */
	uint32_t x = *s != 0 ? *s : 0x9E3779B9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

static tcp_framing_t framer;   /* 64 KiB: not on the stack */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4) {
		return 0;
	}
	uint32_t seed = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 |
	                data[3];
	const uint8_t *stream = data + 4;
	size_t stream_len = size - 4;

	/* Reference: the messages of the whole stream, up to a zero length or the end. */
	size_t ref_pos = 0;          /* start of the next reference message's prefix */
	bool ref_bad = false;        /* the reference stops at a zero length at ref_pos */

	tcp_framing_t *f = &framer;
	memset(f, 0, offsetof(tcp_framing_t, buf));
	size_t fed = 0;
	bool bad_seen = false;
	while (!bad_seen) {
		/* Take some (or, paused, none) of the complete messages held. */
		uint32_t r = next_random(&seed);
		unsigned take = (r & 7) == 0 ? 0 : (r & 8) ? 1000000 : 1 + (r >> 4) % 3;
		for (unsigned i = 0; i < take; i++) {
			const uint8_t *msg;
			size_t len;
			tcp_framing_result_t fr = tcp_framing_next(f, &msg, &len);
			if (fr == TCP_FRAMING_NEED_MORE) {
				break;
			}
			/* What the reference says comes next. */
			size_t rlen = ref_pos + 2 <= stream_len
			              ? (size_t)(stream[ref_pos] << 8 | stream[ref_pos + 1]) : 0;
			if (fr == TCP_FRAMING_BAD_LENGTH) {
				FUZZ_CHECK(ref_pos + 2 <= fed && rlen == 0,
				           "zero length reported at stream offset %zu, not there", ref_pos);
				tcp_framing_result_t again = tcp_framing_next(f, &msg, &len);
				FUZZ_CHECK(again == TCP_FRAMING_BAD_LENGTH, "a bad length is reported once only");
				ref_bad = true;
				bad_seen = true;
				break;
			}
			FUZZ_CHECK(fr == TCP_FRAMING_MESSAGE, "result %d", (int)fr);
			FUZZ_CHECK(rlen != 0 && ref_pos + 2 + rlen <= fed,
			           "a message at offset %zu that was not all received", ref_pos);
			FUZZ_CHECK(len == rlen && memcmp(msg, stream + ref_pos + 2, len) == 0,
			           "message at stream offset %zu: %zu bytes yielded, %zu sent (or other bytes)",
			           ref_pos, len, rlen);
			FUZZ_CHECK(msg >= f->buf && msg + len <= f->buf + sizeof(f->buf),
			           "message outside the buffer");
			ref_pos += 2 + rlen;
		}
		if (bad_seen || fed == stream_len) {
			if (fed == stream_len && !bad_seen) {
				/* Drain what is left, then compare the remainder. */
				const uint8_t *msg;
				size_t len;
				tcp_framing_result_t fr;
				while ((fr = tcp_framing_next(f, &msg, &len)) == TCP_FRAMING_MESSAGE) {
					size_t rlen = (size_t)(stream[ref_pos] << 8 | stream[ref_pos + 1]);
					FUZZ_CHECK(len == rlen && memcmp(msg, stream + ref_pos + 2, len) == 0,
					           "drained message at offset %zu differs", ref_pos);
					ref_pos += 2 + rlen;
				}
				if (fr == TCP_FRAMING_BAD_LENGTH) {
					FUZZ_CHECK(stream_len - ref_pos >= 2 && stream[ref_pos] == 0 &&
					           stream[ref_pos + 1] == 0, "zero length reported wrongly at end");
					ref_bad = true;
				} else {
					size_t rest = stream_len - ref_pos;
					bool partial = rest < 2 ||
					               rest < 2 + (size_t)(stream[ref_pos] << 8 | stream[ref_pos + 1]);
					FUZZ_CHECK(partial, "a complete message at offset %zu was not yielded",
					           ref_pos);
					FUZZ_CHECK(tcp_framing_pending(f) == rest, "%zu bytes pending, %zu expected",
					           tcp_framing_pending(f), rest);
				}
			}
			break;
		}

		/* Receive the next chunk, as libuv would into the space offered. */
		uint8_t *at;
		size_t room = tcp_framing_space(f, &at);
		FUZZ_CHECK(at >= f->buf && at + room == f->buf + sizeof(f->buf), "space outside the buffer");
		if (room == 0) {
			const uint8_t *msg;
			size_t len;
			/* Only allowed while a complete message is held. */
			tcp_framing_result_t peek = tcp_framing_next(f, &msg, &len);
			FUZZ_CHECK(peek == TCP_FRAMING_MESSAGE || peek == TCP_FRAMING_BAD_LENGTH,
			           "no room although no complete message is held");
			f->off -= peek == TCP_FRAMING_MESSAGE ? 2 + len : 0;   /* put it back */
			continue;
		}
		uint32_t c = next_random(&seed);
		size_t want = (c & 3) == 0 ? room : (c & 3) == 1 ? 1 + (c >> 2) % 3 : 1 + (c >> 2) % 700;
		size_t n = want < room ? want : room;
		n = n < stream_len - fed ? n : stream_len - fed;
		memcpy(at, stream + fed, n);
		tcp_framing_received(f, n);
		fed += n;
	}
	(void)ref_bad;
	return 0;
}
