#pragma once
/*
 * Secrets at rest: private keys are stored sealed with AES-256-GCM under a
 * master key kept in DBDIR/master.key (32 random bytes, mode 0600, created on
 * first use; a file readable or writable by others is refused).  A sealed
 * value is text: "v1:" base64(12-byte nonce | ciphertext | 16-byte tag), and
 * the label it was sealed for is authenticated with it (a sealed account key
 * cannot be passed off as a certificate key).
 */

#include <stddef.h>
#include <stdint.h>

#define VAULT_KEY_SIZE 32

typedef struct {
	uint8_t key[VAULT_KEY_SIZE];
} vault_t;

/*
 * Loads DBDIR/master.key, creating it when create is set and it is missing.
 * The key and the directory must pass the checks of common/file_perms.h (owned
 * like the directory, no access for group or others); root acts as the
 * directory's owner meanwhile, so a key it creates belongs to that user.
 * Returns 0, CD_ENOTFOUND (missing and not created), CD_EIO (unreadable, bad
 * size, or an unsafe owner or mode: logged with the fix).
 */
int vault_open(vault_t *v, const char *db_dir, int create);

/* Wipes the key from memory. */
void vault_close(vault_t *v);

/* Seals data for label into a malloc'd string.  Returns 0, CD_ENOMEM, CD_ECRYPTO. */
int vault_seal(const vault_t *v, const char *label, const uint8_t *data, size_t len, char **out);

/*
 * Opens a sealed string; *out is malloc'd and NUL-terminated (so PEM can be
 * used as a string), *len excludes the terminator.  Returns 0, CD_EMALF (not a
 * sealed value), CD_ECRYPTO (wrong key or label, or tampered), CD_ENOMEM.
 */
int vault_open_sealed(const vault_t *v, const char *label, const char *sealed, uint8_t **out,
                      size_t *len);
