/*
 * answer_bench: the query path without the network.  Answers a dnsperf query
 * file against a certdns database in-process, the way a UDP worker does
 * (query_parse + answer_query, one snapshot renewed per batch of 64), and
 * reports the CPU time per query.  Run it under `perf record` to see where
 * the user-space cycles of the hot path go, free of kernel and socket noise.
 *
 * usage: answer_bench DBDIR QUERYFILE [SECONDS | COUNTq]
 *
 * With COUNTq (e.g. 400000q) it answers exactly that many queries: for
 * valgrind (callgrind, cachegrind), whose counts do not depend on the load.
 */

#include <errno.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "db/db.h"
#include "db/reader.h"
#include "dns/answer.h"
#include "dns/query.h"
#include "dns/wire.h"

#define BATCH 64

typedef struct {
	uint8_t *wire;
	size_t len;
} packet_t;

static int load_queries(const char *path, packet_t **out, size_t *count)
{
	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 1024, n = 0;
	packet_t *pkts = malloc(cap * sizeof(*pkts));
	char line[1024];
	unsigned lineno = 0;
	while (pkts != NULL && fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		char name[512], type[32];
		if (sscanf(line, "%511s %31s", name, type) != 2) {
			continue;
		}
		ldns_rr_type t = ldns_get_rr_type_by_name(type);
		ldns_rdf *dname = ldns_dname_new_frm_str(name);
		ldns_pkt *pkt = NULL;
		if (t == 0 || dname == NULL ||
		    ldns_pkt_query_new_frm_str(&pkt, name, t, LDNS_RR_CLASS_IN, 0) != LDNS_STATUS_OK) {
			fprintf(stderr, "%s:%u: cannot make a query of '%s %s'\n", path, lineno, name, type);
			ldns_rdf_deep_free(dname);
			continue;
		}
		ldns_rdf_deep_free(dname);
		ldns_pkt_set_id(pkt, (uint16_t)n);
		uint8_t *wire = NULL;
		size_t len = 0;
		if (ldns_pkt2wire(&wire, pkt, &len) != LDNS_STATUS_OK) {
			ldns_pkt_free(pkt);
			continue;
		}
		ldns_pkt_free(pkt);
		if (n == cap) {
			cap *= 2;
			packet_t *grown = realloc(pkts, cap * sizeof(*pkts));
			if (grown == NULL) {
				free(wire);
				break;
			}
			pkts = grown;
		}
		pkts[n++] = (packet_t){ .wire = wire, .len = len };
	}
	fclose(fp);
	if (pkts == NULL || n == 0) {
		fprintf(stderr, "%s: no queries\n", path);
		free(pkts);
		return -1;
	}
	/* One contiguous buffer, read in order: as in a server, where each query
	 * has just been copied into the receive buffer, reading a query costs no
	 * cache miss (scattered heap blocks would add one per query). */
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		total += pkts[i].len;
	}
	uint8_t *all = malloc(total);
	if (all == NULL) {
		fprintf(stderr, "out of memory\n");
		return -1;
	}
	for (size_t i = 0, at = 0; i < n; i++) {
		memcpy(all + at, pkts[i].wire, pkts[i].len);
		free(pkts[i].wire);
		pkts[i].wire = all + at;
		at += pkts[i].len;
	}
	*out = pkts;
	*count = n;
	return 0;
}

static double now_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: answer_bench DBDIR QUERYFILE [SECONDS | COUNTq]\n");
		return 2;
	}
	double seconds = 5.0;
	size_t limit = 0;   /* queries to answer, 0: as many as fit in the time */
	if (argc > 3) {
		char *end;
		double v = strtod(argv[3], &end);
		if (end == argv[3] || v <= 0 || (*end != '\0' && strcmp(end, "q") != 0)) {
			fprintf(stderr, "answer_bench: '%s' is neither SECONDS nor COUNTq\n", argv[3]);
			return 2;
		}
		if (*end == 'q') {
			limit = (size_t)v;
		} else {
			seconds = v;
		}
	}
	packet_t *pkts;
	size_t count;
	if (load_queries(argv[2], &pkts, &count) != 0) {
		return 1;
	}
	db_t *db = NULL;
	db_options_t opts = { .read_only = true };
	if (db_open(&db, argv[1], &opts) != CD_OK) {
		return 1;
	}
	db_reader_t reader = { 0 };
	if (db_reader_init(&reader, db) != CD_OK) {
		db_close(db);
		return 1;
	}
	static uint8_t out[BATCH][ANSWER_DEFAULT_UDP_PAYLOAD];
	answer_opts_t aopts = { .tcp = false, .udp_payload = ANSWER_DEFAULT_UDP_PAYLOAD };
	unsigned long rcodes[16] = { 0 };
	size_t answered = 0, bytes = 0, next = 0;
	double start = now_cpu(), elapsed = 0;
	while (limit > 0 ? answered < limit : elapsed < seconds) {
		for (int round = 0; round < 64; round++) {
			if (db_reader_renew(&reader) != CD_OK) {
				fprintf(stderr, "cannot renew the read transaction\n");
				return 1;
			}
			for (int i = 0; i < BATCH; i++) {
				const packet_t *p = &pkts[next];
				next = next + 1 == count ? 0 : next + 1;
				dns_query_t q;
				query_verdict_t verdict = query_parse(p->wire, p->len, &q);
				uint16_t rcode = 0;
				size_t len = answer_query(&reader, p->wire, &q, verdict, out[i], sizeof(out[i]),
				                          &aopts, &rcode);
				bytes += len;
				rcodes[rcode & 15]++;
				answered++;
			}
			db_reader_reset(&reader);
		}
		elapsed = now_cpu() - start;
	}
	printf("%zu queries (%zu distinct) in %.2f CPU-s: %.0f ns/query, %.0f queries/CPU-s, "
	       "%.1f bytes/answer\n", answered, count, elapsed, elapsed * 1e9 / (double)answered,
	       (double)answered / elapsed, (double)bytes / (double)answered);
	printf("rcodes: NOERROR %lu, NXDOMAIN %lu, REFUSED %lu, other %lu\n", rcodes[0], rcodes[3],
	       rcodes[5], answered - rcodes[0] - rcodes[3] - rcodes[5]);
	db_reader_destroy(&reader);
	db_close(db);
	free(pkts[0].wire);   /* the contiguous buffer */
	free(pkts);
	return 0;
}
