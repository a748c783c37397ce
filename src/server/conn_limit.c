#include "server/conn_limit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/error.h"
#include "common/siphash.h"

#define CONN_LIMIT_SLOTS_MIN 64
#define CONN_LIMIT_SLOTS_MAX (1u << 22)

/* One source with open connections; count 0 marks a free slot. */
typedef struct {
	uint64_t source;     /* IPv4 address, or the upper 64 bits of an IPv6 address */
	uint32_t count;
	uint32_t home;       /* the slot its hash points at (linear probing starts there) */
	uint8_t family;
} conn_slot_t;

struct conn_limit {
	pthread_mutex_t lock;
	unsigned per_source;
	size_t mask;         /* slots - 1 */
	uint8_t key[SIPHASH_KEY_SIZE];
	conn_slot_t slots[];
};

int conn_limit_create(unsigned per_source, size_t max_conns, conn_limit_t **out)
{
	/* Twice the connections the server can hold: probing stays short and the
	 * table never fills, since a source only takes a slot while it has one. */
	size_t slots = CONN_LIMIT_SLOTS_MIN;
	while (slots < 2 * max_conns && slots < CONN_LIMIT_SLOTS_MAX) {
		slots *= 2;
	}
	conn_limit_t *l = calloc(1, sizeof(*l) + slots * sizeof(conn_slot_t));
	if (l == NULL) {
		return CD_ENOMEM;
	}
	if (getrandom(l->key, sizeof(l->key), 0) != (ssize_t)sizeof(l->key)) {
		free(l);
		return CD_EIO;
	}
	if (pthread_mutex_init(&l->lock, NULL) != 0) {
		free(l);
		return CD_ENOMEM;
	}
	l->per_source = per_source;
	l->mask = slots - 1;
	*out = l;
	return CD_OK;
}

void conn_limit_destroy(conn_limit_t *l)
{
	if (l != NULL) {
		pthread_mutex_destroy(&l->lock);
		free(l);
	}
}

static void source_of(const struct sockaddr *peer, uint8_t *family, uint64_t *source)
{
	const uint8_t *a;
	size_t n;
	if (peer->sa_family == AF_INET6) {
		a = (const uint8_t *)&((const struct sockaddr_in6 *)peer)->sin6_addr;
		n = 8;   /* the /64 */
	} else {
		a = (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr;
		n = 4;
	}
	*family = (uint8_t)peer->sa_family;
	*source = 0;
	for (size_t i = 0; i < n; i++) {
		*source = (*source << 8) | a[i];
	}
}

/* The slot of a source, or the free slot where it would go (NULL: table full). */
static conn_slot_t *lookup(conn_limit_t *l, uint8_t family, uint64_t source, size_t *home)
{
	uint8_t msg[9];
	msg[0] = family;
	memcpy(msg + 1, &source, 8);
	*home = siphash24(l->key, msg, sizeof(msg)) & l->mask;
	for (size_t i = 0, s = *home; i <= l->mask; i++, s = (s + 1) & l->mask) {
		conn_slot_t *slot = &l->slots[s];
		if (slot->count == 0 || (slot->source == source && slot->family == family)) {
			return slot;
		}
	}
	return NULL;
}

/* Empties slot i and moves later entries of its probe run back (no tombstones). */
static void remove_slot(conn_limit_t *l, size_t i)
{
	size_t j = i;
	for (;;) {
		j = (j + 1) & l->mask;
		if (l->slots[j].count == 0) {
			break;
		}
		size_t home = l->slots[j].home;
		/* The entry at j may fill the hole at i unless its home lies in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			l->slots[i] = l->slots[j];
			i = j;
		}
	}
	l->slots[i].count = 0;
}

bool conn_limit_acquire(conn_limit_t *l, const struct sockaddr *peer)
{
	uint8_t family;
	uint64_t source;
	source_of(peer, &family, &source);
	size_t home;
	bool ok = true;
	pthread_mutex_lock(&l->lock);
	conn_slot_t *slot = lookup(l, family, source, &home);
	if (slot == NULL) {
		ok = true;   /* cannot happen (sized for every connection): never refuse for it */
	} else if (slot->count >= l->per_source) {
		ok = false;
	} else {
		if (slot->count == 0) {
			slot->source = source;
			slot->family = family;
			slot->home = (uint32_t)home;
		}
		slot->count++;
	}
	pthread_mutex_unlock(&l->lock);
	return ok;
}

void conn_limit_release(conn_limit_t *l, const struct sockaddr *peer)
{
	uint8_t family;
	uint64_t source;
	source_of(peer, &family, &source);
	size_t home;
	pthread_mutex_lock(&l->lock);
	conn_slot_t *slot = lookup(l, family, source, &home);
	if (slot != NULL && slot->count > 0 && --slot->count == 0) {
		remove_slot(l, (size_t)(slot - l->slots));
	}
	pthread_mutex_unlock(&l->lock);
}
