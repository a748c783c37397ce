#include "server/notify.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "db/node.h"
#include "db/tsig_store.h"
#include "db/zone_conf.h"
#include "db/zone_store.h"
#include "dns/dname.h"
#include "dns/tsig.h"
#include "dns/wire.h"

#define NOTIFY_MAX_TRIES 5
#define NOTIFY_FIRST_RETRY_MS 1000

typedef struct zone_seen {
	struct zone_seen *next;
	uint8_t apex[DNS_MAX_NAME];
	uint32_t serial;
	bool present;             /* seen in the current check */
} zone_seen_t;

typedef struct job {
	struct job *next;
	struct notifier *owner;
	uv_timer_t timer;
	struct sockaddr_storage addr;
	char addr_text[INET6_ADDRSTRLEN + 8];
	char zone[DNAME_STR_MAX];
	uint8_t packet[1024];
	size_t len;
	uint16_t id;
	uint32_t serial;
	unsigned tries;
	bool done;
} job_t;

struct notifier {
	uv_loop_t *loop;
	db_t *db;
	uv_udp_t udp4, udp6;
	bool have4, have6;
	int refs;                 /* the owner, plus every handle not yet closed */
	zone_seen_t *zones;
	job_t *jobs;
	unsigned pending;
};

static void job_send(job_t *job);

static void on_job_closed(uv_handle_t *handle)
{
	free(handle->data);
}

static void job_finish(job_t *job)
{
	notifier_t *n = job->owner;
	job_t **p = &n->jobs;
	while (*p != NULL && *p != job) {
		p = &(*p)->next;
	}
	if (*p == job) {
		*p = job->next;
	}
	if (!job->done) {
		n->pending--;
	}
	job->done = true;
	uv_timer_stop(&job->timer);
	uv_close((uv_handle_t *)&job->timer, on_job_closed);
}

static void on_retry(uv_timer_t *timer)
{
	job_t *job = timer->data;
	if (job->tries >= NOTIFY_MAX_TRIES) {
		log_warning("NOTIFY for %s serial %u to %s: no answer after %u tries, giving up "
		            "(the secondary will still check the SOA on its refresh timer)",
		            job->zone, job->serial, job->addr_text, job->tries);
		job_finish(job);
		return;
	}
	job_send(job);
}

static void job_send(job_t *job)
{
	notifier_t *n = job->owner;
	uv_udp_t *udp = job->addr.ss_family == AF_INET6 ? &n->udp6 : &n->udp4;
	if (job->addr.ss_family == AF_INET6 && !n->have6) {
		log_warning("NOTIFY to %s: no IPv6 socket", job->addr_text);
		job_finish(job);
		return;
	}
	uv_buf_t buf = uv_buf_init((char *)job->packet, (unsigned)job->len);
	int rc = uv_udp_try_send(udp, &buf, 1, (const struct sockaddr *)&job->addr);
	if (rc < 0 && rc != UV_EAGAIN) {
		log_warning("NOTIFY for %s to %s: %s", job->zone, job->addr_text, uv_strerror(rc));
	}
	job->tries++;
	uv_timer_start(&job->timer, on_retry, (uint64_t)NOTIFY_FIRST_RETRY_MS << (job->tries - 1), 0);
}

static void on_udp_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	(void)handle;
	(void)suggested;
	buf->base = malloc(4096);
	buf->len = buf->base ? 4096 : 0;
}

static bool same_peer(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family) {
		return false;
	}
	if (b->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a;
		const struct sockaddr_in *y = (const struct sockaddr_in *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
	return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

static void on_udp_recv(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *addr, unsigned flags)
{
	notifier_t *n = udp->data;
	(void)flags;
	if (nread >= DNS_HEADER_SIZE && addr != NULL) {
		const uint8_t *p = (const uint8_t *)buf->base;
		uint16_t id = wire_read_u16(p);
		uint16_t hflags = wire_read_u16(p + 2);
		for (job_t *job = n->jobs; job != NULL; job = job->next) {
			if (job->id == id && (hflags & DNS_FLAG_QR) && same_peer(&job->addr, addr)) {
				unsigned rcode = hflags & 0x0F;
				if (rcode == DNS_RCODE_NOERROR) {
					log_info("NOTIFY for %s serial %u acknowledged by %s", job->zone,
					         job->serial, job->addr_text);
				} else {
					log_warning("NOTIFY for %s serial %u: %s answered rcode %u (is this "
					            "server allowed to notify it?)", job->zone, job->serial,
					            job->addr_text, rcode);
				}
				job_finish(job);
				break;
			}
		}
	}
	free(buf->base);
}

static void unref(notifier_t *n)
{
	if (--n->refs == 0) {
		free(n);
	}
}

static void on_socket_closed(uv_handle_t *handle)
{
	unref(handle->data);
}

/* Opens a wildcard UDP socket; on failure it is already closing.  Returns 0 or a uv error. */
static int open_socket(notifier_t *n, uv_udp_t *udp, int family)
{
	uv_udp_init(n->loop, udp);
	udp->data = n;
	n->refs++;
	struct sockaddr_storage any;
	memset(&any, 0, sizeof(any));
	if (family == AF_INET) {
		uv_ip4_addr("0.0.0.0", 0, (struct sockaddr_in *)&any);
	} else {
		uv_ip6_addr("::", 0, (struct sockaddr_in6 *)&any);
	}
	int rc = uv_udp_bind(udp, (const struct sockaddr *)&any, family == AF_INET6 ? UV_UDP_IPV6ONLY : 0);
	if (rc == 0) {
		rc = uv_udp_recv_start(udp, on_udp_alloc, on_udp_recv);
	}
	if (rc != 0) {
		uv_close((uv_handle_t *)udp, on_socket_closed);
	}
	return rc;
}

int notifier_start(uv_loop_t *loop, db_t *db, notifier_t **out)
{
	notifier_t *n = calloc(1, sizeof(*n));
	if (n == NULL) {
		return CD_ENOMEM;
	}
	n->loop = loop;
	n->db = db;
	n->refs = 1;
	int rc = open_socket(n, &n->udp4, AF_INET);
	n->have4 = rc == 0;
	n->have6 = open_socket(n, &n->udp6, AF_INET6) == 0;
	if (!n->have4) {
		log_error("NOTIFY: cannot open a UDP socket: %s", uv_strerror(rc));
		unref(n);   /* freed once the loop has closed the failed handles */
		return CD_EIO;
	}
	*out = n;
	return CD_OK;
}

/* Builds a NOTIFY for the zone with its SOA in the answer section. */
static size_t build_notify(uint8_t *buf, size_t cap, uint16_t id, const node_t *apex,
                           const rrset_t *soa)
{
	int apex_len = dname_wire_length(apex->owner, DNS_MAX_NAME);
	const uint8_t *rdata;
	uint16_t rdlen;
	size_t pos = 0;
	if (apex_len < 0 || !rrset_next_rr(soa, &pos, &rdata, &rdlen) ||
	    (size_t)(DNS_HEADER_SIZE + apex_len + 4 + 2 + 10 + rdlen) > cap) {
		return 0;
	}
	memset(buf, 0, DNS_HEADER_SIZE);
	wire_write_u16(buf, id);
	wire_write_u16(buf + 2, (uint16_t)(DNS_OPCODE_NOTIFY << 11) | DNS_FLAG_AA);
	wire_write_u16(buf + 4, 1);
	wire_write_u16(buf + 6, 1);
	size_t p = DNS_HEADER_SIZE;
	memcpy(buf + p, apex->owner, (size_t)apex_len);
	p += (size_t)apex_len;
	wire_write_u16(buf + p, DNS_TYPE_SOA);
	wire_write_u16(buf + p + 2, DNS_CLASS_IN);
	p += 4;
	wire_write_u16(buf + p, 0xC000 | DNS_HEADER_SIZE);
	memcpy(buf + p + 2, soa->header, 8);
	wire_write_u16(buf + p + 10, rdlen);
	memcpy(buf + p + 12, rdata, rdlen);
	return p + 12 + rdlen;
}

static int parse_secondary(const json_t *sec, struct sockaddr_storage *addr, char *text,
                           size_t textlen)
{
	const char *a = json_string_value(json_object_get(sec, "address"));
	json_int_t port = json_integer_value(json_object_get(sec, "port"));
	if (a == NULL || port <= 0 || port > 65535) {
		return -1;
	}
	memset(addr, 0, sizeof(*addr));
	if (uv_ip4_addr(a, (int)port, (struct sockaddr_in *)addr) != 0 &&
	    uv_ip6_addr(a, (int)port, (struct sockaddr_in6 *)addr) != 0) {
		return -1;
	}
	snprintf(text, textlen, strchr(a, ':') ? "[%s]:%lld" : "%s:%lld", a, (long long)port);
	return 0;
}

static void schedule(notifier_t *n, MDB_txn *txn, const zone_record_t *zone)
{
	json_t *conf = zone_conf_get(n->db, txn, zone->apex);
	json_t *secs = conf ? json_object_get(conf, "secondaries") : NULL;
	if (json_array_size(secs) == 0) {
		json_decref(conf);
		return;
	}
	node_t apex;
	rrset_t soa;
	uint8_t key[4];
	wire_write_u32(key, zone->id);
	MDB_val k = { .mv_size = 4, .mv_data = key }, v;
	if (mdb_get(txn, n->db->names, &k, &v) != MDB_SUCCESS ||
	    node_decode(v.mv_data, v.mv_size, &apex) != CD_OK ||
	    !node_find_rrset(&apex, DNS_TYPE_SOA, &soa)) {
		json_decref(conf);
		return;
	}
	size_t i;
	json_t *sec;
	json_array_foreach(secs, i, sec) {
		struct sockaddr_storage addr;
		char text[INET6_ADDRSTRLEN + 8];
		if (parse_secondary(sec, &addr, text, sizeof(text)) != 0) {
			continue;
		}
		/* A newer serial replaces a NOTIFY still pending for the same secondary. */
		char zone_name[DNAME_STR_MAX];
		dname_to_str(zone->apex, zone_name, sizeof(zone_name));
		for (job_t *j = n->jobs; j != NULL; j = j->next) {
			if (strcmp(j->zone, zone_name) == 0 && strcmp(j->addr_text, text) == 0) {
				job_finish(j);
				break;
			}
		}
		job_t *job = calloc(1, sizeof(*job));
		if (job == NULL) {
			break;
		}
		job->owner = n;
		job->addr = addr;
		snprintf(job->addr_text, sizeof(job->addr_text), "%s", text);
		snprintf(job->zone, sizeof(job->zone), "%s", zone_name);
		job->serial = zone->serial;
		uint8_t rnd[2];
		uv_random(NULL, NULL, rnd, sizeof(rnd), 0, NULL);
		job->id = wire_read_u16(rnd);
		job->len = build_notify(job->packet, sizeof(job->packet), job->id, &apex, &soa);
		const char *key_name = json_string_value(json_object_get(sec, "tsig"));
		if (job->len > 0 && key_name != NULL) {
			tsig_key_t tkey;
			tsig_ctx_t tc;
			if (tsig_store_get(n->db, txn, key_name, &tkey) != CD_OK) {
				log_warning("NOTIFY for %s to %s: TSIG key %s is missing; sending unsigned",
				            zone_name, text, key_name);
			} else {
				job->len = tsig_sign_request(&tc, &tkey, job->packet, job->len,
				                             sizeof(job->packet));
			}
		}
		if (job->len == 0) {
			free(job);
			continue;
		}
		uv_timer_init(n->loop, &job->timer);
		job->timer.data = job;
		job->next = n->jobs;
		n->jobs = job;
		n->pending++;
		job_send(job);
	}
	json_decref(conf);
}

typedef struct {
	notifier_t *n;
	MDB_txn *txn;
} check_ctx_t;

static int check_zone(void *arg, const zone_record_t *zone)
{
	check_ctx_t *c = arg;
	notifier_t *n = c->n;
	zone_seen_t *z = n->zones;
	while (z != NULL && !dname_equal(z->apex, zone->apex)) {
		z = z->next;
	}
	if (z == NULL) {
		z = calloc(1, sizeof(*z));
		if (z == NULL) {
			return 0;
		}
		memcpy(z->apex, zone->apex, zone->apex_len);
		z->serial = zone->serial + 1;   /* differs: announce at first sight */
		z->next = n->zones;
		n->zones = z;
	}
	z->present = true;
	if (z->serial != zone->serial) {
		z->serial = zone->serial;
		schedule(n, c->txn, zone);
	}
	return 0;
}

void notifier_check(notifier_t *n)
{
	MDB_txn *txn;
	if (db_read_begin(n->db, &txn) != CD_OK) {
		return;
	}
	for (zone_seen_t *z = n->zones; z != NULL; z = z->next) {
		z->present = false;
	}
	check_ctx_t c = { n, txn };
	zone_store_foreach_zone(n->db, txn, check_zone, &c);
	mdb_txn_abort(txn);
	/* Forget deleted zones, so a zone created again is announced. */
	zone_seen_t **p = &n->zones;
	while (*p != NULL) {
		if (!(*p)->present) {
			zone_seen_t *gone = *p;
			*p = gone->next;
			free(gone);
		} else {
			p = &(*p)->next;
		}
	}
}

unsigned notifier_pending(const notifier_t *n)
{
	return n->pending;
}

void notifier_close(notifier_t *n)
{
	while (n->jobs != NULL) {
		job_finish(n->jobs);
	}
	while (n->zones != NULL) {
		zone_seen_t *z = n->zones;
		n->zones = z->next;
		free(z);
	}
	uv_close((uv_handle_t *)&n->udp4, on_socket_closed);
	if (n->have6) {
		uv_close((uv_handle_t *)&n->udp6, on_socket_closed);
	}
	unref(n);
}
