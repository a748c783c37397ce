#include "certs/vault.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/file_perms.h"
#include "common/log.h"

#define NONCE_SIZE 12
#define TAG_SIZE 16

static int read_key(vault_t *v, const char *path, const struct stat *dir_st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		return errno == ENOENT ? CD_ENOTFOUND : (log_error("%s: %s", path, strerror(errno)), CD_EIO);
	}
	struct stat st;
	int ret = CD_OK;
	if (fstat(fd, &st) != 0) {
		log_error("%s: %s", path, strerror(errno));
		ret = CD_EIO;
	} else if (file_perms_check_file(path, &st, dir_st, FILE_PERMS_SECRET) != CD_OK) {
		ret = CD_EIO;
	} else if (read(fd, v->key, sizeof(v->key)) != (ssize_t)sizeof(v->key) ||
	           st.st_size != (off_t)sizeof(v->key)) {
		log_error("%s: a master key is exactly %d bytes", path, VAULT_KEY_SIZE);
		ret = CD_EIO;
	}
	close(fd);
	return ret;
}

/* Reads, or creates when allowed, the master key of a checked directory. */
static int load_key(vault_t *v, const char *path, const struct stat *dir_st, int create)
{
	int ret = read_key(v, path, dir_st);
	if (ret != CD_ENOTFOUND || !create) {
		return ret;
	}
	if (RAND_bytes(v->key, sizeof(v->key)) != 1) {
		return CD_ECRYPTO;
	}
	/* Write under a temporary name, then link: two creators cannot both win. */
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("cannot create %s: %s", tmp, strerror(errno));
		return CD_EIO;
	}
	bool ok = write(fd, v->key, sizeof(v->key)) == (ssize_t)sizeof(v->key) && fsync(fd) == 0;
	close(fd);
	if (ok && link(tmp, path) != 0) {
		ok = false;
		if (errno == EEXIST) {
			unlink(tmp);
			return read_key(v, path, dir_st);   /* someone else made it first: use theirs */
		}
	}
	unlink(tmp);
	if (!ok) {
		log_error("cannot create the master key %s: %s", path, strerror(errno));
		return CD_EIO;
	}
	log_info("created the master key %s (back it up: sealed keys cannot be read without it)",
	         path);
	return CD_OK;
}

int vault_open(vault_t *v, const char *db_dir, int create)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/master.key", db_dir);
	struct stat dir_st;
	if (stat(db_dir, &dir_st) != 0) {
		log_error("database directory %s: %s", db_dir, strerror(errno));
		return CD_EIO;
	}
	if (file_perms_check_dir(db_dir, &dir_st) != CD_OK) {
		return CD_EIO;
	}
	/* Root handling another user's database acts as that user: a key it creates
	 * belongs to the user certdnsd runs as (see common/file_perms.h). */
	file_perms_identity_t saved;
	if (file_perms_act_as_owner(&dir_st, &saved) != CD_OK) {
		return CD_EIO;
	}
	int ret = load_key(v, path, &dir_st, create);
	file_perms_restore(&saved);
	return ret;
}

void vault_close(vault_t *v)
{
	OPENSSL_cleanse(v->key, sizeof(v->key));
}

int vault_seal(const vault_t *v, const char *label, const uint8_t *data, size_t len, char **out)
{
	size_t blob_len = NONCE_SIZE + len + TAG_SIZE;
	uint8_t *blob = malloc(blob_len);
	char *text = malloc(3 + 4 * ((blob_len + 2) / 3) + 1);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int ret = CD_ECRYPTO;
	int n = 0;
	if (blob == NULL || text == NULL || ctx == NULL) {
		ret = CD_ENOMEM;
		goto out;
	}
	if (RAND_bytes(blob, NONCE_SIZE) != 1 ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, v->key, blob) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, (const uint8_t *)label, (int)strlen(label)) != 1 ||
	    EVP_EncryptUpdate(ctx, blob + NONCE_SIZE, &n, data, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, blob + NONCE_SIZE + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_SIZE, blob + NONCE_SIZE + len) != 1) {
		goto out;
	}
	memcpy(text, "v1:", 3);
	EVP_EncodeBlock((uint8_t *)text + 3, blob, (int)blob_len);
	*out = text;
	text = NULL;
	ret = CD_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (blob != NULL) {
		OPENSSL_cleanse(blob, blob_len);
	}
	free(blob);
	free(text);
	return ret;
}

int vault_open_sealed(const vault_t *v, const char *label, const char *sealed, uint8_t **out,
                      size_t *len)
{
	if (strncmp(sealed, "v1:", 3) != 0) {
		return CD_EMALF;
	}
	const char *b64 = sealed + 3;
	size_t b64_len = strlen(b64);
	if (b64_len == 0 || b64_len % 4 != 0) {
		return CD_EMALF;
	}
	uint8_t *blob = malloc(b64_len / 4 * 3);
	if (blob == NULL) {
		return CD_ENOMEM;
	}
	int decoded = EVP_DecodeBlock(blob, (const uint8_t *)b64, (int)b64_len);
	if (decoded < 0) {
		free(blob);
		return CD_EMALF;
	}
	size_t blob_len = (size_t)decoded;
	while (b64_len > 0 && b64[b64_len - 1] == '=') {   /* DecodeBlock counts padding */
		blob_len--;
		b64_len--;
	}
	if (blob_len < NONCE_SIZE + TAG_SIZE) {
		free(blob);
		return CD_EMALF;
	}
	size_t clen = blob_len - NONCE_SIZE - TAG_SIZE;
	uint8_t *plain = malloc(clen + 1);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int ret = CD_ECRYPTO;
	int n = 0;
	if (plain == NULL || ctx == NULL) {
		ret = CD_ENOMEM;
		goto out;
	}
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, v->key, blob) == 1 &&
	    EVP_DecryptUpdate(ctx, NULL, &n, (const uint8_t *)label, (int)strlen(label)) == 1 &&
	    EVP_DecryptUpdate(ctx, plain, &n, blob + NONCE_SIZE, (int)clen) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_SIZE, blob + NONCE_SIZE + clen) == 1 &&
	    EVP_DecryptFinal_ex(ctx, plain + n, &n) == 1) {
		plain[clen] = '\0';
		*out = plain;
		*len = clen;
		plain = NULL;
		ret = CD_OK;
	}
out:
	EVP_CIPHER_CTX_free(ctx);
	if (plain != NULL) {
		OPENSSL_cleanse(plain, clen);
		free(plain);
	}
	free(blob);
	return ret;
}
