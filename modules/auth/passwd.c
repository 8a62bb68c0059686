/*
 * passwd.c - cpa-passwd: reads one password line on stdin and prints its
 * argon2id encoding, for seeding staff rows (demo data, a first
 * administrator).  The password policy is the one sign-in and password
 * changes apply: 12 to 128 characters of UTF-8 without control characters.
 *
 *   printf '%s\n' "$PASSWORD" | cpa-passwd
 *
 * Exit status: 0 printed, 1 hashing failed, 2 usage or policy failure.
 * stdin is read with read(2), byte by byte, so no stdio buffer keeps a
 * copy; the buffer is wiped before exit.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cpa.h"

/* Room for 128 four-byte characters, CR, LF and one byte to detect excess. */
#define LINE_MAX_BYTES (CPA_PASSWORD_MAX * 4 + 3)

/*
 * Read up to the first LF (not stored) or EOF.  Returns the length, or -1
 * when the line does not fit or reading fails.
 */
static ssize_t
read_line(char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	char c;

	for (;;) {
		n = read(STDIN_FILENO, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0 || c == '\n')
			break;
		if (len + 1 >= cap)
			return -1;
		buf[len++] = c;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

int
main(int argc, char **argv)
{
	char line[LINE_MAX_BYTES + 1], hash[CPA_PASSWORD_HASH_MAX];
	const char *problem = NULL;
	size_t len = 0;
	ssize_t got;
	int ex = 2;

	(void)argv;
	if (argc != 1) {
		fputs("usage: printf '%s\\n' \"$PASSWORD\" | cpa-passwd\n", stderr);
		return 2;
	}
	if ((got = read_line(line, sizeof(line))) < 0) {
		problem = "the password must be at most 128 characters";
		goto out;
	}
	len = (size_t)got;
	/* A line from a CRLF file: the CR is not part of the password. */
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (!cpa_utf8_valid(line, len))
		problem = "the password is not valid UTF-8";
	else if (cpa_utf8_len(line, len) < CPA_PASSWORD_MIN ||
	    cpa_utf8_len(line, len) > CPA_PASSWORD_MAX)
		problem = "the password must be 12 to 128 characters";
	else if (!cpa_text_valid(line, len, 0))
		problem = "the password must not contain control characters";
	if (problem != NULL)
		goto out;
	if (cpa_password_hash(line, len, hash) != CPA_OK) {
		fputs("cpa-passwd: hashing failed\n", stderr);
		ex = 1;
		goto out;
	}
	printf("%s\n", hash);
	ex = fflush(stdout) == 0 ? 0 : 1;
out:
	if (problem != NULL)
		fprintf(stderr, "cpa-passwd: %s\n", problem);
	cpa_secret_wipe(line, sizeof(line));
	return ex;
}
