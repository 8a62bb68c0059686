/*
 * auth.c - roles and passwords.  Passwords are hashed with argon2id at the
 * OWASP-recommended cost (19 MiB, two passes, one lane); verification of an
 * unknown user spends the same time as a wrong password so response timing
 * does not reveal which usernames exist.
 */
#include <string.h>

#include <argon2.h>
#include <openssl/rand.h>

#include "cpa.h"

#define T_COST 2
#define M_COST 19456		/* KiB */
#define PARALLELISM 1
#define SALT_LEN 16
#define HASH_LEN 32

const char *const cpa_role_names[] = {
	"coordinator", "practitioner", "team_manager", "district_manager",
	"trust_admin", "auditor", NULL
};

const char *
cpa_role_name(unsigned role)
{
	size_t i;

	for (i = 0; cpa_role_names[i] != NULL; i++)
		if (role == 1u << i)
			return cpa_role_names[i];
	return "unknown";
}

unsigned
cpa_role_parse(const char *name)
{
	size_t i;

	if (name == NULL)
		return 0;
	for (i = 0; cpa_role_names[i] != NULL; i++)
		if (strcmp(name, cpa_role_names[i]) == 0)
			return 1u << i;
	return 0;
}

int
cpa_password_hash(const char *pw, size_t len, char out[CPA_PASSWORD_HASH_MAX])
{
	unsigned char salt[SALT_LEN];
	int rc;

	if (argon2_encodedlen(T_COST, M_COST, PARALLELISM, SALT_LEN, HASH_LEN,
	    Argon2_id) > CPA_PASSWORD_HASH_MAX)
		return CPA_ERR;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return CPA_ERR;
	rc = argon2id_hash_encoded(T_COST, M_COST, PARALLELISM, pw, len, salt,
	    sizeof(salt), HASH_LEN, out, CPA_PASSWORD_HASH_MAX);
	return rc == ARGON2_OK ? CPA_OK : CPA_ERR;
}

int
cpa_password_verify(const char *encoded, const char *pw, size_t len)
{
	static char dummy[CPA_PASSWORD_HASH_MAX];

	if (encoded == NULL || strncmp(encoded, "$argon2id$", 10) != 0) {
		/* Spend the time a real check would, then fail. */
		if (dummy[0] == '\0' &&
		    cpa_password_hash("not a real password", 19, dummy) != CPA_OK)
			return 0;
		(void)argon2id_verify(dummy, pw, len);
		return 0;
	}
	return argon2id_verify(encoded, pw, len) == ARGON2_OK;
}
