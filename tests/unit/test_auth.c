/*
 * test_auth.c - auth.c: role names and bits map both ways, unknown names
 * and bits map to nothing, and argon2id hashes carry the agreed cost and
 * verify only the right password.  Each hash costs about 50 ms, so the
 * password tests share two hashes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cpa.h"

#define PREFIX "$argon2id$v=19$m=19456,t=2,p=1$"

static const char pw1[] = "correct horse battery staple";
static const char pw2[] = "Ch\xc3\xa2teau d'If, cell 34";
static char hash1[CPA_PASSWORD_HASH_MAX];
static char hash2[CPA_PASSWORD_HASH_MAX];

static int
make_hashes(void **state)
{
	(void)state;
	if (cpa_password_hash(pw1, strlen(pw1), hash1) != CPA_OK ||
	    cpa_password_hash(pw2, strlen(pw2), hash2) != CPA_OK)
		return -1;
	return 0;
}

static void
test_role_round_trip(void **state)
{
	static const struct {
		unsigned role;
		const char *name;
	} roles[] = {
		{ CPA_ROLE_COORDINATOR, "coordinator" },
		{ CPA_ROLE_PRACTITIONER, "practitioner" },
		{ CPA_ROLE_TEAM_MANAGER, "team_manager" },
		{ CPA_ROLE_DISTRICT_MANAGER, "district_manager" },
		{ CPA_ROLE_TRUST_ADMIN, "trust_admin" },
		{ CPA_ROLE_AUDITOR, "auditor" },
	};
	size_t i, n = sizeof(roles) / sizeof(roles[0]);

	(void)state;
	for (i = 0; i < n; i++) {
		assert_string_equal(cpa_role_name(roles[i].role), roles[i].name);
		assert_int_equal(cpa_role_parse(roles[i].name), roles[i].role);
		assert_int_equal(cpa_role_parse(cpa_role_name(roles[i].role)),
		    roles[i].role);
	}
	/* The enum table lists exactly these names, for CPA_FT_ENUM. */
	for (i = 0; cpa_role_names[i] != NULL; i++)
		assert_string_equal(cpa_role_names[i], roles[i].name);
	assert_int_equal(i, n);
}

static void
test_role_unknown(void **state)
{
	static const char *const names[] = {
		"", "admin", "Coordinator", "TRUST_ADMIN", "trust_admin ",
		" trust_admin", "trust", "trust_admin\n", "unknown", "auditors",
	};
	static const unsigned bits[] = {
		0, 1u << 6, 1u << 31,
		CPA_ROLE_COORDINATOR | CPA_ROLE_TRUST_ADMIN,
		CPA_ROLE_TEAM_MANAGER | CPA_ROLE_DISTRICT_MANAGER,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (cpa_role_parse(names[i]) != 0)
			fail_msg("\"%s\" parsed as a role", names[i]);
	assert_int_equal(cpa_role_parse(NULL), 0);
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		const char *name = cpa_role_name(bits[i]);

		assert_non_null(name);
		assert_int_equal(cpa_role_parse(name), 0);
	}
}

static void
test_hash_format(void **state)
{
	size_t i;

	(void)state;
	assert_true(strncmp(hash1, PREFIX, strlen(PREFIX)) == 0);
	assert_true(strncmp(hash2, PREFIX, strlen(PREFIX)) == 0);
	assert_true(strlen(hash1) < CPA_PASSWORD_HASH_MAX);
	/* Salt and hash follow as two unpadded base64 fields: 16-byte salt
	 * (22 characters), 32-byte hash (43 characters). */
	assert_int_equal(strlen(hash1), strlen(PREFIX) + 22 + 1 + 43);
	assert_int_equal(hash1[strlen(PREFIX) + 22], '$');
	/* A random salt: the same password never gives the same hash. */
	assert_string_not_equal(hash1, hash2);
	for (i = 0; hash1[i] != '\0'; i++)
		assert_true(hash1[i] > 0x20 && hash1[i] < 0x7f);
	assert_null(strstr(hash1, pw1));
}

static void
test_verify(void **state)
{
	char wrong[sizeof(pw1)];

	(void)state;
	assert_int_equal(cpa_password_verify(hash1, pw1, strlen(pw1)), 1);
	assert_int_equal(cpa_password_verify(hash2, pw2, strlen(pw2)), 1);
	/* The other user's password, a one-character change, a prefix. */
	assert_int_equal(cpa_password_verify(hash1, pw2, strlen(pw2)), 0);
	memcpy(wrong, pw1, sizeof(pw1));
	wrong[0] = 'C';
	assert_int_equal(cpa_password_verify(hash1, wrong, strlen(wrong)), 0);
	assert_int_equal(cpa_password_verify(hash1, pw1, strlen(pw1) - 1), 0);
	assert_int_equal(cpa_password_verify(hash1, "", 0), 0);
}

static void
test_verify_bad_hash(void **state)
{
	char broken[CPA_PASSWORD_HASH_MAX];

	(void)state;
	/* Unknown user: no hash, still no. */
	assert_int_equal(cpa_password_verify(NULL, pw1, strlen(pw1)), 0);
	assert_int_equal(cpa_password_verify("", pw1, strlen(pw1)), 0);
	assert_int_equal(cpa_password_verify("not a hash", pw1, strlen(pw1)), 0);
	assert_int_equal(cpa_password_verify("$argon2id$", pw1, strlen(pw1)), 0);
	assert_int_equal(cpa_password_verify(PREFIX "!!!!$!!!!", pw1, strlen(pw1)), 0);
	/* A weaker variant is not accepted in place of argon2id. */
	strcpy(broken, hash1);
	memcpy(broken, "$argon2i$", 9);
	memmove(broken + 9, broken + 10, strlen(broken + 10) + 1);
	assert_int_equal(cpa_password_verify(broken, pw1, strlen(pw1)), 0);
	/* Truncated, and with the stored hash altered. */
	strcpy(broken, hash1);
	broken[strlen(broken) - 5] = '\0';
	assert_int_equal(cpa_password_verify(broken, pw1, strlen(pw1)), 0);
	strcpy(broken, hash1);
	broken[strlen(broken) - 2] = broken[strlen(broken) - 2] == 'A' ? 'B' : 'A';
	assert_int_equal(cpa_password_verify(broken, pw1, strlen(pw1)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_role_round_trip),
		cmocka_unit_test(test_role_unknown),
		cmocka_unit_test(test_hash_format),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_verify_bad_hash),
	};

	return cmocka_run_group_tests(tests, make_hashes, NULL);
}
