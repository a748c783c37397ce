/* certdnsctl acme ... and cert ...: ACME accounts and certificates. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acme/account.h"
#include "acme/acme_client.h"
#include "certs/csr.h"
#include "certs/export.h"
#include "certs/keys.h"
#include "certs/vault.h"
#include "cli/cli.h"
#include "common/error.h"
#include "db/acme_store.h"

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int parse_id(const char *text, uint32_t *id)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (errno || *end || end == text || v == 0 || v > UINT32_MAX) {
		return -1;
	}
	*id = (uint32_t)v;
	return 0;
}

static int store_record(db_t *db, acme_store_kind_t kind, uint32_t *id, const json_t *rec)
{
	MDB_txn *txn;
	int ret = db_write_begin(db, &txn);
	if (ret != CD_OK) {
		return ret;
	}
	if (*id == 0) {
		ret = acme_store_new_id(db, txn, kind, id);
	}
	if (ret == CD_OK) {
		ret = acme_store_put(db, txn, kind, *id, rec);
	}
	return ret == CD_OK ? db_write_commit(txn) : (mdb_txn_abort(txn), ret);
}

static json_t *load_record(db_t *db, acme_store_kind_t kind, uint32_t id, int *err)
{
	MDB_txn *txn;
	*err = db_read_begin(db, &txn);
	if (*err != CD_OK) {
		return NULL;
	}
	json_t *rec = acme_store_get(db, txn, kind, id, err);
	mdb_txn_abort(txn);
	return rec;
}

int cmd_acme_account_create(const ctl_t *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "directory", required_argument, NULL, 'd' },
		{ "contact", required_argument, NULL, 'c' },
		{ "agree-tos", no_argument, NULL, 'a' },
		{ "eab-kid", required_argument, NULL, 'k' },
		{ "eab-hmac", required_argument, NULL, 'h' },
		{ "ca-file", required_argument, NULL, 'f' },
		{ "key", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *directory = NULL, *eab_kid = NULL, *eab_hmac = NULL, *ca_file = NULL;
	const char *key_type = KEY_TYPE_DEFAULT;
	const char *contacts[8];
	size_t ncontacts = 0;
	bool agree = false;
	int c;
	optind = 0;   /* 0: GNU getopt starts afresh (also its permutation state) */
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': directory = optarg; break;
		case 'c':
			if (ncontacts == 8) {
				return cli_usage_error("at most 8 --contact");
			}
			contacts[ncontacts++] = optarg;
			break;
		case 'a': agree = true; break;
		case 'k': eab_kid = optarg; break;
		case 'h': eab_hmac = optarg; break;
		case 'f': ca_file = optarg; break;
		case 't': key_type = optarg; break;
		default:
			return cli_usage_error("acme account create: unknown option");
		}
	}
	if (directory == NULL || optind != argc) {
		return cli_usage_error("usage: acme account create --directory URL [--contact mailto:...] "
		                       "[--agree-tos] [--eab-kid K --eab-hmac H] [--ca-file PEM] "
		                       "[--key ecdsa-p256|ecdsa-p384|rsa-2048|rsa-4096]");
	}
	if ((eab_kid == NULL) != (eab_hmac == NULL)) {
		return cli_usage_error("--eab-kid and --eab-hmac go together");
	}
	char eab_line[512];
	if (eab_hmac != NULL &&
	    cli_secret_arg("--eab-hmac", eab_hmac, eab_line, sizeof(eab_line), &eab_hmac) != 0) {
		return EXIT_USAGE;
	}
	char ca_abs[4096] = "";
	if (ca_file != NULL && realpath(ca_file, ca_abs) == NULL) {
		return cli_fail("--ca-file %s: %s", ca_file, strerror(errno));
	}
	EVP_PKEY *key = NULL;
	int ret = key_generate(key_type, &key);
	if (ret == CD_EINVAL) {
		return cli_usage_error("unknown key type '%s'", key_type);
	}
	if (ret != CD_OK) {
		return cli_fail("cannot generate the account key: %s", cd_strerror(ret));
	}
	db_t *db = NULL;
	acme_client_t *client = NULL;
	acme_result_t res = { .retry_after = -1 };
	char *pem = NULL, *sealed = NULL;
	vault_t vault;
	int rc = EXIT_FAILURE;
	bool vault_ok = false;
	if (cli_open_db(ctl, &db) != EXIT_SUCCESS) {
		goto out;
	}
	if (vault_open(&vault, ctl->db_dir, 1) != CD_OK) {
		cli_fail("cannot open the master key in %s", ctl->db_dir);
		goto out;
	}
	vault_ok = true;
	ret = acme_client_new(&client, directory, ca_abs[0] ? ca_abs : NULL);
	if (ret != CD_OK) {
		rc = cli_usage_error("--directory must be an https:// URL");
		goto out;
	}
	const acme_directory_t *dir;
	acme_client_set_account(client, key, NULL);
	ret = acme_client_directory(client, &dir, &res);
	acme_result_clear(&res);
	if (ret != CD_OK) {
		cli_fail("cannot read the ACME directory: %s", acme_client_error(client));
		goto out;
	}
	if (dir->terms_of_service != NULL && !agree) {
		cli_fail("the CA requires agreeing to its terms of service (%s): add --agree-tos",
		         dir->terms_of_service);
		goto out;
	}
	if (dir->external_account_required && eab_kid == NULL) {
		cli_fail("the CA requires External Account Binding: add --eab-kid and --eab-hmac");
		goto out;
	}
	acme_account_opts_t opts = {
		.contacts = contacts, .n_contacts = ncontacts, .terms_agreed = agree,
		.eab_kid = eab_kid, .eab_hmac_key = eab_hmac,
	};
	ret = acme_account_new(client, &opts, &res);
	for (int again = 0; again < 3 && ret == CD_EACME && acme_result_problem_type(&res) != NULL &&
	                    strcmp(acme_result_problem_type(&res), "urn:ietf:params:acme:error:badNonce") == 0;
	     again++) {
		acme_result_clear(&res);   /* a CA rejecting nonce after nonce: try the whole request again */
		ret = acme_account_new(client, &opts, &res);
	}
	if (ret != CD_OK) {
		cli_fail("the CA refused the account: %s", acme_client_error(client));
		if (res.problem != NULL) {
			cli_print_json(json_incref(res.problem));
		}
		goto out;
	}
	if (key_to_pem(key, &pem) != CD_OK ||
	    vault_seal(&vault, "account-key", (const uint8_t *)pem, strlen(pem), &sealed) != CD_OK) {
		cli_fail("cannot seal the account key");
		goto out;
	}
	json_t *contact_array = json_array();
	for (size_t i = 0; i < ncontacts; i++) {
		json_array_append_new(contact_array, json_string(contacts[i]));
	}
	json_t *acct = json_pack("{s:s, s:s?, s:o, s:s, s:s, s:s, s:s, s:I}", "directory", directory,
	                         "ca_file", ca_abs[0] ? ca_abs : NULL, "contact", contact_array,
	                         "url", res.location, "key", sealed, "key_type", key_type_name(key),
	                         "status", str(res.body, "status") ? str(res.body, "status") : "valid",
	                         "created", (json_int_t)time(NULL));
	uint32_t id = 0;
	ret = store_record(db, ACME_STORE_ACCOUNTS, &id, acct);
	json_decref(acct);
	if (ret != CD_OK) {
		cli_fail("cannot store the account: %s", cd_strerror(ret));
		goto out;
	}
	if (ctl->json) {
		cli_print_json(json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "url", res.location,
		                         "directory", directory));
	} else {
		printf("account %u: %s (%s, key %s)\n", id, res.location,
		       res.http_status == 201 ? "created" : "existing", key_type_name(key));
	}
	rc = EXIT_SUCCESS;
out:
	acme_result_clear(&res);
	acme_client_free(client);
	EVP_PKEY_free(key);
	if (pem != NULL) {
		OPENSSL_cleanse(pem, strlen(pem));
	}
	free(pem);
	free(sealed);
	if (vault_ok) {
		vault_close(&vault);
	}
	db_close(db);
	return rc;
}

static int account_row(void *arg, uint32_t id, const json_t *a)
{
	json_t *array = arg;
	if (array != NULL) {
		json_array_append_new(array, json_pack("{s:I, s:s?, s:s?, s:s?, s:O?, s:s?}", "id",
		                                       (json_int_t)id, "directory", str(a, "directory"),
		                                       "url", str(a, "url"), "status", str(a, "status"),
		                                       "contact", json_object_get(a, "contact"),
		                                       "key_type", str(a, "key_type")));
	} else {
		printf("%-4u %-8s %-10s %s\n", id, str(a, "status") ? str(a, "status") : "?",
		       str(a, "key_type") ? str(a, "key_type") : "?", str(a, "directory"));
	}
	return 0;
}

/* Prints every record of a kind: a table (header, then a row each) or a JSON array. */
static int list_records(const ctl_t *ctl, int argc, const char *what, acme_store_kind_t kind,
                        const char *header, acme_store_cb row)
{
	if (argc != 1) {
		return cli_usage_error("%s takes no arguments", what);
	}
	db_t *db;
	if (cli_open_db_ro(ctl, &db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	json_t *array = ctl->json ? json_array() : NULL;
	if (array == NULL) {
		printf("%s\n", header);
	}
	MDB_txn *txn;
	if (db_read_begin(db, &txn) == CD_OK) {
		acme_store_foreach(db, txn, kind, row, array);
		mdb_txn_abort(txn);
	}
	db_close(db);
	if (array != NULL) {
		cli_print_json(array);
	}
	return EXIT_SUCCESS;
}

int cmd_acme_account_list(const ctl_t *ctl, int argc, char **argv)
{
	(void)argv;
	char header[128];
	snprintf(header, sizeof(header), "%-4s %-8s %-10s %s", "ID", "STATUS", "KEY", "DIRECTORY");
	return list_records(ctl, argc, "acme account list", ACME_STORE_ACCOUNTS, header, account_row);
}

int cmd_acme_account_show(const ctl_t *ctl, int argc, char **argv)
{
	uint32_t id;
	if (argc != 2 || parse_id(argv[1], &id) < 0) {
		return cli_usage_error("usage: acme account show ID");
	}
	db_t *db;
	if (cli_open_db_ro(ctl, &db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	int err;
	json_t *a = load_record(db, ACME_STORE_ACCOUNTS, id, &err);
	db_close(db);
	if (a == NULL) {
		return cli_fail("account %u: %s", id, err == CD_ENOTFOUND ? "no such account" : cd_strerror(err));
	}
	json_object_del(a, "key");   /* sealed, but still: secrets stay out of listings */
	json_object_set_new(a, "id", json_integer(id));
	if (ctl->json) {
		cli_print_json(a);
		return EXIT_SUCCESS;
	}
	printf("account %u\n  directory: %s\n  url:       %s\n  status:    %s\n  key:       %s\n",
	       id, str(a, "directory"), str(a, "url"), str(a, "status"), str(a, "key_type"));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(a, "contact"), i, v) {
		printf("  contact:   %s\n", json_string_value(v));
	}
	json_decref(a);
	return EXIT_SUCCESS;
}

/* The only account, when --account is not given. */
typedef struct {
	uint32_t id;
	unsigned count;
} pick_t;

static int pick_account(void *arg, uint32_t id, const json_t *a)
{
	(void)a;
	pick_t *p = arg;
	p->id = id;
	p->count++;
	return 0;
}

static void print_events_since(const json_t *cert, size_t *seen)
{
	json_t *events = json_object_get(cert, "events");
	size_t n = json_array_size(events);
	for (; *seen < n; (*seen)++) {
		json_t *e = json_array_get(events, *seen);
		time_t t = (time_t)json_integer_value(json_object_get(e, "time"));
		struct tm tm;
		char stamp[32];
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
		printf("%s  %s\n", stamp, str(e, "message"));
		fflush(stdout);
	}
}

int cmd_cert_request(const ctl_t *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "account", required_argument, NULL, 'a' },
		{ "wait", no_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "export-dir", required_argument, NULL, 'e' },
		{ "deploy-hook", required_argument, NULL, 'H' },
		{ "fallback-account", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	uint32_t fallback = 0;
	const char *key_type = KEY_TYPE_DEFAULT;
	const char *export_dir = NULL, *deploy_hook = NULL;
	char export_abs[4096];
	uint32_t account = 0;
	bool wait = false;
	long timeout = 600;
	int c;
	optind = 0;   /* 0: GNU getopt starts afresh (also its permutation state) */
	/* Options may follow the names: GNU getopt permutes them to the front. */
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': key_type = optarg; break;
		case 'a':
			if (parse_id(optarg, &account) < 0) {
				return cli_usage_error("--account takes an account ID");
			}
			break;
		case 'w': wait = true; break;
		case 't': timeout = strtol(optarg, NULL, 10); break;
		case 'e':
			if (optarg[0] != '/') {
				if (getcwd(export_abs, sizeof(export_abs) - 1 - strlen(optarg)) == NULL) {
					return cli_fail("cannot tell the current directory");
				}
				strcat(export_abs, "/");
				strcat(export_abs, optarg);
				export_dir = export_abs;
			} else {
				export_dir = optarg;
			}
			break;
		case 'H': deploy_hook = optarg; break;
		case 'f':
			if (parse_id(optarg, &fallback) < 0) {
				return cli_usage_error("--fallback-account takes an account ID");
			}
			break;
		default:
			return cli_usage_error("cert request: unknown option");
		}
	}
	if (optind >= argc) {
		return cli_usage_error("usage: cert request NAME... [--key TYPE] [--account ID] [--wait]");
	}
	EVP_PKEY *probe = NULL;
	if (key_generate(key_type, &probe) == CD_EINVAL) {
		return cli_usage_error("unknown key type '%s' (ecdsa-p256, ecdsa-p384, rsa-2048, rsa-4096)",
		                       key_type);
	}
	EVP_PKEY_free(probe);
	json_t *names = json_array();
	for (int i = optind; i < argc; i++) {
		const char *n = argv[i];
		size_t len = strlen(n);
		if (len == 0 || len > 253 || n[0] == '-' || strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                                       "0123456789-.*_") != len ||
		    (strchr(n, '*') != NULL && (strncmp(n, "*.", 2) != 0 || strchr(n + 1, '*') != NULL))) {
			json_decref(names);
			return cli_usage_error("'%s' is not a host name or wildcard (*.example.com)", n);
		}
		char lower[256];
		for (size_t j = 0; j <= len; j++) {
			lower[j] = (char)(n[j] >= 'A' && n[j] <= 'Z' ? n[j] + 32 : n[j]);
		}
		if (len > 0 && lower[len - 1] == '.') {
			lower[len - 1] = '\0';
		}
		json_array_append_new(names, json_string(lower));
	}
	db_t *db;
	if (cli_open_db(ctl, &db) != EXIT_SUCCESS) {
		json_decref(names);
		return EXIT_FAILURE;
	}
	if (account == 0) {
		pick_t p = { 0 };
		MDB_txn *txn;
		if (db_read_begin(db, &txn) == CD_OK) {
			acme_store_foreach(db, txn, ACME_STORE_ACCOUNTS, pick_account, &p);
			mdb_txn_abort(txn);
		}
		if (p.count != 1) {
			json_decref(names);
			db_close(db);
			return cli_fail(p.count == 0 ? "no ACME account: create one with 'certdnsctl acme "
			                "account create --directory URL --agree-tos'"
			                : "several ACME accounts: choose one with --account ID");
		}
		account = p.id;
	} else {
		int err;
		json_t *a = load_record(db, ACME_STORE_ACCOUNTS, account, &err);
		if (a == NULL) {
			json_decref(names);
			db_close(db);
			return cli_fail("no ACME account %u", account);
		}
		json_decref(a);
	}
	if (deploy_hook != NULL && export_dir == NULL) {
		json_decref(names);
		db_close(db);
		return cli_usage_error("--deploy-hook needs --export-dir (the files it deploys)");
	}
	if (fallback != 0) {
		int ferr;
		json_t *fa = load_record(db, ACME_STORE_ACCOUNTS, fallback, &ferr);
		if (fa == NULL || fallback == account) {
			json_decref(fa);
			json_decref(names);
			db_close(db);
			return cli_fail("--fallback-account %u: %s", fallback, fa == NULL ? "no such account"
			                : "is the account itself");
		}
		json_decref(fa);
	}
	json_t *cert = json_pack("{s:o, s:s, s:I, s:s, s:s, s:I, s:I, s:[], s:s*, s:s*}", "names",
	                         names, "key_type", key_type, "account", (json_int_t)account, "state",
	                         "requested", "status", "requested", "created", (json_int_t)time(NULL),
	                         "updated", (json_int_t)time(NULL), "events", "export_dir", export_dir,
	                         "deploy_hook", deploy_hook);
	if (cert != NULL && fallback != 0) {
		json_object_set_new(cert, "fallback_account", json_integer(fallback));
	}
	uint32_t id = 0;
	int ret = store_record(db, ACME_STORE_CERTS, &id, cert);
	json_decref(cert);
	if (ret != CD_OK) {
		db_close(db);
		return cli_fail("cannot store the request: %s", cd_strerror(ret));
	}
	cli_poke_daemon(ctl, "acme-wake", NULL);
	if (!wait) {
		db_close(db);
		if (ctl->json) {
			cli_print_json(json_pack("{s:I, s:s}", "id", (json_int_t)id, "status", "requested"));
		} else {
			printf("certificate %u requested; certdnsd is working on it ('certdnsctl cert show %u')\n",
			       id, id);
		}
		return EXIT_SUCCESS;
	}
	printf("certificate %u requested; waiting for certdnsd (up to %ld s)\n", id, timeout);
	fflush(stdout);
	size_t seen = 0;
	int rc = EXIT_FAILURE;
	time_t until = time(NULL) + timeout;
	while (time(NULL) < until) {
		int err;
		json_t *cur = load_record(db, ACME_STORE_CERTS, id, &err);
		if (cur == NULL) {
			cli_fail("certificate %u disappeared", id);
			break;
		}
		print_events_since(cur, &seen);
		const char *state = str(cur, "state");
		if (state != NULL && strcmp(state, "issued") == 0) {
			printf("certificate %u issued\n", id);
			json_decref(cur);
			rc = EXIT_SUCCESS;
			break;
		}
		if (state != NULL && strcmp(state, "failed") == 0) {
			json_t *e = json_object_get(cur, "error");
			cli_fail("certificate %u failed: %s", id, str(e, "detail") ? str(e, "detail") : "?");
			json_decref(cur);
			break;
		}
		json_decref(cur);
		usleep(300000);
	}
	if (rc != EXIT_SUCCESS && time(NULL) >= until) {
		cli_fail("certificate %u: still not done after %ld s (is certdnsd running?)", id, timeout);
	}
	db_close(db);
	return rc;
}

static void fmt_time(json_int_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static int cert_row(void *arg, uint32_t id, const json_t *c)
{
	json_t *array = arg;
	json_t *names = json_object_get(c, "names");
	if (array != NULL) {
		json_array_append_new(array, json_pack("{s:I, s:O, s:s?, s:O?, s:O?}", "id", (json_int_t)id,
		                                       "names", names, "status", str(c, "status"),
		                                       "not_after", json_object_get(c, "not_after"),
		                                       "error", json_object_get(c, "error")));
		return 0;
	}
	char exp[40] = "-";
	if (json_object_get(c, "not_after") != NULL) {
		fmt_time(json_integer_value(json_object_get(c, "not_after")), exp, sizeof(exp));
	}
	printf("%-4u %-11s %-24s", id, str(c, "status") ? str(c, "status") : "?", exp);
	size_t i;
	json_t *n;
	json_array_foreach(names, i, n) {
		printf(" %s", json_string_value(n));
	}
	/* Nobody renews an imported certificate but its owner: say so in time. */
	json_int_t left = json_integer_value(json_object_get(c, "not_after")) - (json_int_t)time(NULL);
	if (str(c, "state") != NULL && strcmp(str(c, "state"), "imported") == 0 && left < 30 * 86400) {
		if (left <= 0) {
			printf("   WARNING: expired; import a new one");
		} else {
			printf("   WARNING: expires in %lld day%s; import a new one", (long long)(left / 86400),
			       left / 86400 == 1 ? "" : "s");
		}
	}
	putchar('\n');
	return 0;
}

int cmd_cert_list(const ctl_t *ctl, int argc, char **argv)
{
	(void)argv;
	char header[128];
	snprintf(header, sizeof(header), "%-4s %-11s %-24s %s", "ID", "STATUS", "EXPIRES", "NAMES");
	return list_records(ctl, argc, "cert list", ACME_STORE_CERTS, header, cert_row);
}

int cmd_cert_show(const ctl_t *ctl, int argc, char **argv)
{
	uint32_t id;
	if (argc != 2 || parse_id(argv[1], &id) < 0) {
		return cli_usage_error("usage: cert show ID");
	}
	db_t *db;
	if (cli_open_db_ro(ctl, &db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	int err;
	json_t *c = load_record(db, ACME_STORE_CERTS, id, &err);
	db_close(db);
	if (c == NULL) {
		return cli_fail("certificate %u: %s", id, err == CD_ENOTFOUND ? "no such certificate"
		                : cd_strerror(err));
	}
	json_object_del(c, "key");
	json_object_del(c, "order_key");
	json_object_set_new(c, "id", json_integer(id));
	if (ctl->json) {
		cli_print_json(c);
		return EXIT_SUCCESS;
	}
	printf("certificate %u: %s\n  names:     ", id, str(c, "status"));
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(c, "names"), i, v) {
		printf(" %s", json_string_value(v));
	}
	printf("\n  key type:   %s\n", str(c, "key_type"));
	if (json_object_get(c, "account") != NULL) {
		json_t *by = json_object_get(c, "issued_by");
		printf("  account:    %lld", json_integer_value(json_object_get(c, "account")));
		if (by != NULL && json_integer_value(by) != json_integer_value(json_object_get(c, "account"))) {
			printf(" (issued through the fallback account %lld)", json_integer_value(by));
		}
		printf("\n");
	}
	if (str(c, "issuer") != NULL) {
		char nb[40], na[40];
		fmt_time(json_integer_value(json_object_get(c, "not_before")), nb, sizeof(nb));
		fmt_time(json_integer_value(json_object_get(c, "not_after")), na, sizeof(na));
		printf("  issuer:     %s\n  serial:     %s\n  not before: %s\n  not after:  %s\n",
		       str(c, "issuer"), str(c, "serial"), nb, na);
	}
	json_t *e = json_object_get(c, "error");
	if (e != NULL) {
		printf("  error:      %s\n  problem:    ", str(e, "detail") ? str(e, "detail") : "?");
		json_dumpf(e, stdout, JSON_COMPACT);
		putchar('\n');
	}
	if (json_object_get(c, "renew_at") != NULL) {
		char ra[40];
		fmt_time(json_integer_value(json_object_get(c, "renew_at")), ra, sizeof(ra));
		printf("  renews at:  %s%s\n", ra, json_object_get(c, "ari_window") ? " (ARI window)" : "");
	}
	if (str(c, "export_dir") != NULL) {
		printf("  export dir: %s\n", str(c, "export_dir"));
	}
	if (str(c, "deploy_hook") != NULL) {
		printf("  deploy hook: %s\n", str(c, "deploy_hook"));
	}
	if (json_object_get(c, "retry_at") != NULL) {
		char ra[40];
		fmt_time(json_integer_value(json_object_get(c, "retry_at")), ra, sizeof(ra));
		printf("  next step:  %s\n", ra);
	}
	printf("  history:\n");
	json_array_foreach(json_object_get(c, "events"), i, v) {
		char t[40];
		fmt_time(json_integer_value(json_object_get(v, "time")), t, sizeof(t));
		printf("    %s  %s\n", t, str(v, "message"));
	}
	json_decref(c);
	return EXIT_SUCCESS;
}

int cmd_cert_export(const ctl_t *ctl, int argc, char **argv)
{
	uint32_t id;
	if (argc != 4 || parse_id(argv[1], &id) < 0 || strcmp(argv[2], "--dir") != 0) {
		return cli_usage_error("usage: cert export ID --dir DIR");
	}
	const char *dir = argv[3];
	db_t *db;
	if (cli_open_db_ro(ctl, &db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	int err;
	json_t *c = load_record(db, ACME_STORE_CERTS, id, &err);
	db_close(db);
	if (c == NULL) {
		return cli_fail("certificate %u: no such certificate", id);
	}
	const char *chain = str(c, "chain");
	const char *sealed = str(c, "key");
	if (chain == NULL || sealed == NULL) {
		json_decref(c);
		return cli_fail("certificate %u is not issued yet (status %s)", id, str(c, "status"));
	}
	vault_t vault;
	uint8_t *key = NULL;
	size_t key_len = 0;
	if (vault_open(&vault, ctl->db_dir, 0) != CD_OK ||
	    vault_open_sealed(&vault, "certificate-key", sealed, &key, &key_len) != CD_OK) {
		json_decref(c);
		return cli_fail("cannot unseal the key of certificate %u (master key %s/master.key)", id,
		                ctl->db_dir);
	}
	vault_close(&vault);
	char why[1024];
	int rc = cert_export_files(dir, chain, (const char *)key, key_len, why, sizeof(why)) == CD_OK
	         ? EXIT_SUCCESS : cli_fail("%s", why);
	OPENSSL_cleanse(key, key_len);
	free(key);
	json_decref(c);
	if (rc == EXIT_SUCCESS) {
		printf("certificate %u: wrote %s/fullchain.pem, privkey.pem (0600), chain.pem, cert.pem\n",
		       id, dir);
	}
	return rc;
}

/* Opens the vault and a client for account id; prints why not. */
static int account_session(const ctl_t *ctl, uint32_t id, db_t **db, vault_t *vault,
                           acme_client_t **client)
{
	if (cli_open_db(ctl, db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	if (vault_open(vault, ctl->db_dir, 0) != CD_OK) {
		db_close(*db);
		return cli_fail("cannot open the master key %s/master.key", ctl->db_dir);
	}
	char err[512];
	if (acme_account_client(*db, vault, id, client, err, sizeof(err)) != CD_OK) {
		vault_close(vault);
		db_close(*db);
		return cli_fail("%s", err);
	}
	return EXIT_SUCCESS;
}

static int set_account_status(db_t *db, uint32_t id, const char *status)
{
	MDB_txn *txn;
	int ret = db_write_begin(db, &txn);
	if (ret != CD_OK) {
		return ret;
	}
	json_t *a = acme_store_get(db, txn, ACME_STORE_ACCOUNTS, id, &ret);
	if (a != NULL) {
		json_object_set_new(a, "status", json_string(status));
		ret = acme_store_put(db, txn, ACME_STORE_ACCOUNTS, id, a);
		json_decref(a);
	}
	return ret == CD_OK ? db_write_commit(txn) : (mdb_txn_abort(txn), ret);
}

int cmd_acme_account_rollover(const ctl_t *ctl, int argc, char **argv)
{
	uint32_t id;
	const char *type = NULL;
	if ((argc != 2 && !(argc == 4 && strcmp(argv[2], "--key") == 0)) || parse_id(argv[1], &id) < 0) {
		return cli_usage_error("usage: acme account rollover ID [--key TYPE]");
	}
	if (argc == 4) {
		type = argv[3];
	}
	db_t *db;
	vault_t vault;
	acme_client_t *client;
	if (account_session(ctl, id, &db, &vault, &client) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	EVP_PKEY *key = NULL;
	acme_result_t res = { .retry_after = -1 };
	int rc = EXIT_FAILURE;
	int ret = key_generate(type ? type : key_type_name(acme_client_account_key(client)), &key);
	if (ret != CD_OK) {
		rc = ret == CD_EINVAL ? cli_usage_error("unknown key type '%s'", type)
		                      : cli_fail("cannot generate a key");
	} else if ((ret = acme_account_key_change(client, key, &res)) != CD_OK) {
		cli_fail("the CA refused the key change: %s", acme_client_error(client));
	} else if ((ret = acme_account_store_key(db, &vault, id, key)) != CD_OK) {
		/* The CA knows only the new key now: say so loudly, with the way out. */
		cli_fail("the CA switched account %u to the new key but storing it failed (%s); "
		         "the old key no longer works", id, cd_strerror(ret));
	} else {
		printf("account %u: key rolled over to a new %s key (RFC 8555 7.3.5)\n", id,
		       key_type_name(key));
		rc = EXIT_SUCCESS;
	}
	acme_result_clear(&res);
	EVP_PKEY_free(key);
	acme_client_free(client);
	vault_close(&vault);
	db_close(db);
	return rc;
}

int cmd_acme_account_deactivate(const ctl_t *ctl, int argc, char **argv)
{
	uint32_t id;
	if (argc != 2 || parse_id(argv[1], &id) < 0) {
		return cli_usage_error("usage: acme account deactivate ID");
	}
	db_t *db;
	vault_t vault;
	acme_client_t *client;
	if (account_session(ctl, id, &db, &vault, &client) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	acme_result_t res = { .retry_after = -1 };
	int rc = EXIT_FAILURE;
	if (acme_account_deactivate(client, &res) != CD_OK) {
		cli_fail("the CA refused: %s", acme_client_error(client));
	} else if (set_account_status(db, id, "deactivated") != CD_OK) {
		cli_fail("account %u is deactivated at the CA, but the database could not record it", id);
	} else {
		printf("account %u deactivated\n", id);
		rc = EXIT_SUCCESS;
	}
	acme_result_clear(&res);
	acme_client_free(client);
	vault_close(&vault);
	db_close(db);
	return rc;
}

/* RFC 5280 CRLReason codes ACME accepts for revocation by the subscriber. */
static int reason_code(const char *name)
{
	static const struct { const char *name; int code; } reasons[] = {
		{ "unspecified", 0 }, { "keyCompromise", 1 }, { "superseded", 4 },
		{ "cessationOfOperation", 5 },
	};
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (strcmp(name, reasons[i].name) == 0) {
			return reasons[i].code;
		}
	}
	return -1;
}

int cmd_cert_revoke(const ctl_t *ctl, int argc, char **argv)
{
	uint32_t id;
	int reason = 0;
	if (argc == 4 && strcmp(argv[2], "--reason") == 0) {
		reason = reason_code(argv[3]);
		if (reason < 0) {
			return cli_usage_error("--reason is unspecified, keyCompromise, superseded or "
			                       "cessationOfOperation");
		}
	} else if (argc != 2) {
		return cli_usage_error("usage: cert revoke ID [--reason REASON]");
	}
	if (parse_id(argv[1], &id) < 0) {
		return cli_usage_error("usage: cert revoke ID [--reason REASON]");
	}
	db_t *db;
	if (cli_open_db(ctl, &db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	int err;
	json_t *c = load_record(db, ACME_STORE_CERTS, id, &err);
	if (c == NULL || str(c, "chain") == NULL) {
		json_decref(c);
		db_close(db);
		return cli_fail("certificate %u: %s", id, c == NULL ? "no such certificate" : "not issued");
	}
	/* The CA that issued it: after a fallback that is not the first account. */
	json_t *issuer_acct = json_object_get(c, "issued_by");
	uint32_t account = (uint32_t)json_integer_value(issuer_acct ? issuer_acct
	                                                            : json_object_get(c, "account"));
	db_close(db);
	vault_t vault;
	acme_client_t *client;
	if (account_session(ctl, account, &db, &vault, &client) != EXIT_SUCCESS) {
		json_decref(c);
		return EXIT_FAILURE;
	}
	BIO *bio = BIO_new_mem_buf(str(c, "chain"), -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	uint8_t *der = NULL;
	int der_len = x ? i2d_X509(x, &der) : -1;
	acme_result_t res = { .retry_after = -1 };
	int rc = EXIT_FAILURE;
	if (der_len <= 0) {
		cli_fail("certificate %u: the stored chain does not parse", id);
	} else if (acme_certificate_revoke(client, der, (size_t)der_len, reason, NULL, &res) != CD_OK) {
		cli_fail("the CA refused the revocation: %s", acme_client_error(client));
	} else {
		MDB_txn *txn;
		if (db_write_begin(db, &txn) == CD_OK) {
			json_t *cur = acme_store_get(db, txn, ACME_STORE_CERTS, id, &err);
			if (cur != NULL) {
				json_object_set_new(cur, "state", json_string("revoked"));
				json_object_set_new(cur, "status", json_string("revoked"));
				json_object_set_new(cur, "revoked_at", json_integer((json_int_t)time(NULL)));
				json_object_del(cur, "renew_at");
				acme_store_put(db, txn, ACME_STORE_CERTS, id, cur);
				json_decref(cur);
			}
			db_write_commit(txn);
		}
		printf("certificate %u (serial %s) revoked (reason %s)\n", id, str(c, "serial"),
		       argc == 4 ? argv[3] : "unspecified");
		rc = EXIT_SUCCESS;
	}
	acme_result_clear(&res);
	OPENSSL_free(der);
	X509_free(x);
	BIO_free(bio);
	acme_client_free(client);
	vault_close(&vault);
	db_close(db);
	json_decref(c);
	return rc;
}

/* Reads a whole file into a NUL-terminated malloc'd buffer. */
static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL) {
		return NULL;
	}
	char *buf = NULL;
	size_t cap = 0;
	*len = 0;
	for (;;) {
		if (*len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *n = realloc(buf, cap);
			if (n == NULL) {
				free(buf);
				fclose(fp);
				return NULL;
			}
			buf = n;
		}
		size_t got = fread(buf + *len, 1, cap - *len - 1, fp);
		*len += got;
		if (got == 0) {
			break;
		}
	}
	fclose(fp);
	buf[*len] = '\0';
	return buf;
}

static int refuse_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int key_to_pem_any(EVP_PKEY *key, char **out);

/* Writes an imported certificate out and runs its hook, as the engine does after issuance. */
static int deploy_imported(uint32_t id, const char *dir, const char *hook, const char *chain,
                           size_t chain_len, EVP_PKEY *key, const json_t *names)
{
	char *pem = NULL;
	char err[1024];
	char *chain_copy = strndup(chain, chain_len);
	int rc = EXIT_FAILURE;
	if (chain_copy == NULL || key_to_pem_any(key, &pem) != CD_OK) {
		cli_fail("certificate %u: cannot export it", id);
	} else if (cert_export_files(dir, chain_copy, pem, strlen(pem), err, sizeof(err)) != CD_OK) {
		cli_fail("certificate %u: %s", id, err);
	} else {
		printf("certificate %u: wrote %s/fullchain.pem, privkey.pem (0600), chain.pem, cert.pem\n",
		       id, dir);
		rc = EXIT_SUCCESS;
		if (hook != NULL) {
			char list[2048] = "";
			size_t i;
			json_t *n;
			json_array_foreach(names, i, n) {
				size_t used = strlen(list);
				snprintf(list + used, sizeof(list) - used, "%s%s", used ? " " : "", json_string_value(n));
			}
			int status = cert_run_deploy_hook(hook, id, list, dir, 60, err, sizeof(err));
			if (status != 0) {
				rc = status > 0 ? cli_fail("the deploy hook exited with status %d", status)
				                : cli_fail("%s", err);
			}
		}
	}
	if (pem != NULL) {
		OPENSSL_cleanse(pem, strlen(pem));
	}
	free(pem);
	free(chain_copy);
	return rc;
}

/* PKCS#8 PEM of any private key (Ed25519 too, which certs/keys.h does not sign with). */
static int key_to_pem_any(EVP_PKEY *key, char **out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len = 0;
	if (b == NULL || PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(b, &data)) <= 0 || (*out = strndup(data, (size_t)len)) == NULL) {
		BIO_free(b);
		return CD_ECRYPTO;
	}
	OPENSSL_cleanse(data, (size_t)len);
	BIO_free(b);
	return CD_OK;
}

/*
 * cert import --cert BUNDLE --key KEY: a certificate the customer brings.
 * The bundle is put in order (leaf, then each issuer), the key must match the
 * leaf; RSA, ECDSA and Ed25519 keys in PKCS#1, SEC 1 or PKCS#8 are accepted,
 * encrypted keys are refused.  Imported certificates are served and exported
 * like issued ones but not renewed (no ACME order behind them).
 */
int cmd_cert_import(const ctl_t *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "export-dir", required_argument, NULL, 'e' },
		{ "deploy-hook", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cert_path = NULL, *key_path = NULL, *export_dir = NULL, *hook = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': cert_path = optarg; break;
		case 'k': key_path = optarg; break;
		case 'e': export_dir = optarg; break;
		case 'H': hook = optarg; break;
		default: return cli_usage_error("cert import: unknown option");
		}
	}
	if (cert_path == NULL || key_path == NULL || optind != argc) {
		return cli_usage_error("usage: cert import --cert BUNDLE.pem --key KEY.pem "
		                       "[--export-dir DIR [--deploy-hook CMD]]");
	}
	if (hook != NULL && export_dir == NULL) {
		return cli_usage_error("--deploy-hook needs --export-dir (the files it deploys)");
	}
	char export_abs[4096];
	if (export_dir != NULL && export_dir[0] != '/') {
		if (getcwd(export_abs, sizeof(export_abs) - 2 - strlen(export_dir)) == NULL) {
			return cli_fail("cannot tell the current directory");
		}
		strcat(export_abs, "/");
		strcat(export_abs, export_dir);
		export_dir = export_abs;
	}
	size_t key_len = 0, bundle_len = 0;
	char *key_text = read_file(key_path, &key_len);
	char *bundle = read_file(cert_path, &bundle_len);
	if (key_text == NULL || bundle == NULL) {
		free(key_text);
		free(bundle);
		return cli_fail("cannot read %s: %s", key_text == NULL ? key_path : cert_path,
		                strerror(errno));
	}
	int rc = EXIT_FAILURE;
	EVP_PKEY *key = NULL;
	X509 *certs[16];
	size_t ncerts = 0;
	X509 *ordered[16];
	size_t nordered = 0;
	db_t *db = NULL;
	if (strstr(key_text, "ENCRYPTED") != NULL) {
		cli_fail("%s is encrypted: decrypt it first, e.g. 'openssl pkey -in %s -out plain.pem', "
		         "and import plain.pem (certdns seals it under its own master key)", key_path,
		         key_path);
		goto out;
	}
	BIO *kb = BIO_new_mem_buf(key_text, (int)key_len);
	key = kb ? PEM_read_bio_PrivateKey(kb, NULL, refuse_passphrase, NULL) : NULL;
	BIO_free(kb);
	if (key == NULL || (EVP_PKEY_id(key) != EVP_PKEY_RSA && EVP_PKEY_id(key) != EVP_PKEY_EC &&
	                    EVP_PKEY_id(key) != EVP_PKEY_ED25519)) {
		cli_fail("%s is not an RSA, ECDSA or Ed25519 private key in PEM", key_path);
		goto out;
	}
	BIO *cb = BIO_new_mem_buf(bundle, (int)bundle_len);
	X509 *x;
	while (cb != NULL && ncerts < 16 && (x = PEM_read_bio_X509(cb, NULL, NULL, NULL)) != NULL) {
		certs[ncerts++] = x;
	}
	BIO_free(cb);
	if (ncerts == 0) {
		cli_fail("%s holds no PEM certificate", cert_path);
		goto out;
	}
	/* The leaf is the certificate of this key; then each issuer in turn. */
	size_t leaf = ncerts;
	for (size_t i = 0; i < ncerts && leaf == ncerts; i++) {
		if (X509_check_private_key(certs[i], key) == 1) {
			leaf = i;
		}
	}
	if (leaf == ncerts) {
		cli_fail("the key in %s does not belong to any certificate in %s", key_path, cert_path);
		goto out;
	}
	bool used[16] = { false };
	ordered[nordered++] = certs[leaf];
	used[leaf] = true;
	for (bool more = true; more;) {
		more = false;
		for (size_t i = 0; i < ncerts; i++) {
			if (!used[i] && X509_check_issued(certs[i], ordered[nordered - 1]) == X509_V_OK) {
				ordered[nordered++] = certs[i];
				used[i] = true;
				more = true;
				break;
			}
		}
	}
	for (size_t i = 0; i < ncerts; i++) {
		if (!used[i]) {
			char subject[256];
			X509_NAME_oneline(X509_get_subject_name(certs[i]), subject, sizeof(subject));
			cli_fail("certificate %zu of %s (%s) does not issue the one before it: the bundle must "
			         "be the leaf and its chain of issuers", i + 1, cert_path, subject);
			goto out;
		}
	}
	bool reordered = leaf != 0;
	for (size_t i = 0; i < nordered && !reordered; i++) {
		reordered = ordered[i] != certs[i];
	}
	/* The chain as PEM, in order; the names from the leaf's SANs. */
	BIO *out_bio = BIO_new(BIO_s_mem());
	for (size_t i = 0; out_bio && i < nordered; i++) {
		PEM_write_bio_X509(out_bio, ordered[i]);
	}
	char *chain_pem = NULL;
	long chain_len = out_bio ? BIO_get_mem_data(out_bio, &chain_pem) : 0;
	json_t *names = json_array();
	GENERAL_NAMES *sans = X509_get_ext_d2i(ordered[0], NID_subject_alt_name, NULL, NULL);
	for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
		if (gn->type == GEN_DNS) {
			json_array_append_new(names, json_stringn((const char *)ASN1_STRING_get0_data(gn->d.dNSName),
			                                          (size_t)ASN1_STRING_length(gn->d.dNSName)));
		}
	}
	GENERAL_NAMES_free(sans);
	struct tm tm;
	json_int_t nb = 0, na = 0;
	if (ASN1_TIME_to_tm(X509_get0_notBefore(ordered[0]), &tm) == 1) {
		nb = (json_int_t)timegm(&tm);
	}
	if (ASN1_TIME_to_tm(X509_get0_notAfter(ordered[0]), &tm) == 1) {
		na = (json_int_t)timegm(&tm);
	}
	json_int_t now = (json_int_t)time(NULL);
	if (na <= now || nb > now) {
		char when[40];
		fmt_time(na <= now ? na : nb, when, sizeof(when));
		cli_fail("the certificate in %s %s %s: only a currently valid certificate can be "
		         "imported", cert_path, na <= now ? "expired on" : "is not valid before", when);
		json_decref(names);
		BIO_free(out_bio);
		goto out;
	}
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(ordered[0]), NULL);
	char *serial = bn ? BN_bn2hex(bn) : NULL;
	BN_free(bn);
	char issuer[512];
	X509_NAME_oneline(X509_get_issuer_name(ordered[0]), issuer, sizeof(issuer));
	const char *type = key_type_name(key);
	if (type == NULL) {
		type = EVP_PKEY_id(key) == EVP_PKEY_ED25519 ? "ed25519"
		       : EVP_PKEY_id(key) == EVP_PKEY_RSA ? "rsa" : "ecdsa";
	}
	vault_t vault;
	char *sealed = NULL;
	char *pem = NULL;
	int ret = cli_open_db(ctl, &db) == EXIT_SUCCESS ? CD_OK : CD_EIO;
	if (ret == CD_OK) {
		ret = vault_open(&vault, ctl->db_dir, 1);
		if (ret == CD_OK) {
			/* Re-encode as PKCS#8: whatever form came in, one form is stored. */
			BIO *pb = BIO_new(BIO_s_mem());
			char *data = NULL;
			long plen = 0;
			if (pb != NULL && PEM_write_bio_PrivateKey(pb, key, NULL, NULL, 0, NULL, NULL) == 1) {
				plen = BIO_get_mem_data(pb, &data);
			}
			ret = plen > 0 ? vault_seal(&vault, "certificate-key", (const uint8_t *)data,
			                            (size_t)plen, &sealed) : CD_ECRYPTO;
			BIO_free(pb);
			vault_close(&vault);
		}
	}
	if (ret == CD_OK) {
		json_t *rec = json_pack("{s:O, s:s, s:s, s:s, s:s#, s:s, s:I, s:I, s:s?, s:s, s:I, s:I, "
		                        "s:s*, s:s*, s:[{s:I, s:s}]}",
		                        "names", names, "key_type", type, "state", "imported", "status",
		                        "imported", "chain", chain_pem, (int)chain_len, "key", sealed,
		                        "not_before", nb, "not_after", na, "serial", serial, "issuer", issuer,
		                        "created", (json_int_t)time(NULL), "updated", (json_int_t)time(NULL),
		                        "export_dir", export_dir, "deploy_hook", hook, "events", "time",
		                        (json_int_t)time(NULL), "message", reordered
		                        ? "imported (the bundle was put in order: leaf, then issuers)"
		                        : "imported");
		uint32_t id = 0;
		ret = rec ? store_record(db, ACME_STORE_CERTS, &id, rec) : CD_ENOMEM;
		json_decref(rec);
		if (ret == CD_OK) {
			char until[40];
			fmt_time(na, until, sizeof(until));
			printf("certificate %u imported: %zu certificate%s in the chain%s, key %s, valid until "
			       "%s, names:", id, nordered, nordered == 1 ? "" : "s",
			       reordered ? " (reordered)" : "", type, until);
			size_t ni;
			json_t *nv;
			json_array_foreach(names, ni, nv) {
				printf(" %s", json_string_value(nv));
			}
			printf("\n");
			rc = EXIT_SUCCESS;
			if (export_dir != NULL) {
				rc = deploy_imported(id, export_dir, hook, chain_pem, (size_t)chain_len, key, names);
			}
		}
	}
	if (ret != CD_OK) {
		cli_fail("cannot store the certificate: %s", cd_strerror(ret));
	}
	free(pem);
	free(sealed);
	OPENSSL_free(serial);
	json_decref(names);
	BIO_free(out_bio);
out:
	for (size_t i = 0; i < ncerts; i++) {
		X509_free(certs[i]);
	}
	EVP_PKEY_free(key);
	if (key_text != NULL) {
		OPENSSL_cleanse(key_text, key_len);
	}
	free(key_text);
	free(bundle);
	db_close(db);
	return rc;
}

/* cert csr NAME... [--key TYPE] --out DIR: a key and CSR for a certificate bought elsewhere. */
int cmd_cert_csr(const ctl_t *ctl, int argc, char **argv)
{
	(void)ctl;
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *type = KEY_TYPE_DEFAULT, *dir = NULL;
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': type = optarg; break;
		case 'o': dir = optarg; break;
		default: return cli_usage_error("cert csr: unknown option");
		}
	}
	if (dir == NULL || optind >= argc) {
		return cli_usage_error("usage: cert csr NAME... [--key TYPE] --out DIR");
	}
	EVP_PKEY *key = NULL;
	int ret = key_generate(type, &key);
	if (ret == CD_EINVAL) {
		return cli_usage_error("unknown key type '%s' (ecdsa-p256, ecdsa-p384, rsa-2048, rsa-4096)",
		                       type);
	}
	uint8_t *der = NULL;
	size_t der_len = 0;
	if (ret == CD_OK) {
		ret = csr_create(key, (const char *const *)argv + optind, (size_t)(argc - optind), true,
		                 &der, &der_len);
	}
	if (ret == CD_EINVAL) {
		EVP_PKEY_free(key);
		return cli_usage_error("the names must be host names or wildcards (*.example.com)");
	}
	char *key_pem = NULL;
	char *csr_pem = NULL;
	long csr_len = 0;
	BIO *bio = BIO_new(BIO_s_mem());
	const uint8_t *p = der;
	X509_REQ *req = der ? d2i_X509_REQ(NULL, &p, (long)der_len) : NULL;
	if (ret == CD_OK && req != NULL && bio != NULL && PEM_write_bio_X509_REQ(bio, req) == 1 &&
	    key_to_pem(key, &key_pem) == CD_OK) {
		csr_len = BIO_get_mem_data(bio, &csr_pem);
	}
	int rc = EXIT_FAILURE;
	char why[1024];
	if (csr_len <= 0) {
		cli_fail("cannot make the CSR");
	} else if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		cli_fail("%s: %s", dir, strerror(errno));
	} else {
		/* Reuse the atomic writer through a one-file "chain" per file. */
		char path[4096];
		snprintf(path, sizeof(path), "%s/privkey.pem", dir);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			cli_fail("%s: %s (not overwriting a key)", path, strerror(errno));
		} else {
			bool ok = write(fd, key_pem, strlen(key_pem)) == (ssize_t)strlen(key_pem) && fsync(fd) == 0;
			close(fd);
			snprintf(path, sizeof(path), "%s/request.csr", dir);
			FILE *fp = ok ? fopen(path, "w") : NULL;
			ok = fp != NULL && fwrite(csr_pem, 1, (size_t)csr_len, fp) == (size_t)csr_len;
			if (fp != NULL && fclose(fp) != 0) {
				ok = false;
			}
			if (ok) {
				printf("wrote %s/privkey.pem (0600, %s) and %s/request.csr for %d name%s\n", dir,
				       key_type_name(key), dir, argc - optind, argc - optind == 1 ? "" : "s");
				rc = EXIT_SUCCESS;
			} else {
				snprintf(why, sizeof(why), "writing to %s failed: %s", dir, strerror(errno));
				cli_fail("%s", why);
			}
		}
	}
	if (key_pem != NULL) {
		OPENSSL_cleanse(key_pem, strlen(key_pem));
	}
	free(key_pem);
	X509_REQ_free(req);
	BIO_free(bio);
	free(der);
	EVP_PKEY_free(key);
	return rc;
}
