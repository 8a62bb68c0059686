/*
 * test_arena.c - arena.c: allocations are zeroed and 16-byte aligned, stay
 * apart across many blocks and for large sizes, the string helpers copy
 * exactly, cpa_buf grows and stays NUL-terminated, deferred cleanups run
 * newest first while arena memory is still valid, and an allocation size
 * that cannot be represented aborts instead of corrupting the heap.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cpa.h"
#include "unit.h"

static int
all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* Leave freed heap memory full of 0xAA so that a fresh arena block is
 * likely to start dirty: zeroing must then come from cpa_alloc itself. */
static void
dirty_heap(void)
{
	void *p[8];
	size_t i;

	for (i = 0; i < 8; i++) {
		p[i] = malloc(20000);
		assert_non_null(p[i]);
		memset(p[i], 0xaa, 20000);
	}
	for (i = 0; i < 8; i++)
		free(p[i]);
}

static void
test_alloc_zeroed_aligned(void **state)
{
	static const size_t sizes[] = { 1, 2, 3, 7, 15, 16, 17, 31, 33, 100, 255,
	    1000, 4095, 4096, 4097, 9000, 16384, 20000, 70000 };
	cpa_arena *a;
	size_t i, round;

	(void)state;
	dirty_heap();
	a = cpa_arena_new();
	for (round = 0; round < 4; round++)
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			unsigned char *p = cpa_alloc(a, sizes[i]);

			assert_non_null(p);
			assert_int_equal((uintptr_t)p % 16, 0);
			assert_true(all_zero(p, sizes[i]));
			/* Dirty it so a later overlapping allocation shows. */
			memset(p, 0xbb, sizes[i]);
		}
	cpa_arena_free(a);
}

static void
test_many_allocations(void **state)
{
	cpa_arena *a = *state;
	enum { N = 5000, SZ = 40 };
	unsigned char **ptrs;
	size_t i, j;

	ptrs = cpa_alloc(a, sizeof(*ptrs) * N);
	/* 5000 * 48 bytes is far more than one block. */
	for (i = 0; i < N; i++) {
		ptrs[i] = cpa_alloc(a, SZ);
		assert_int_equal((uintptr_t)ptrs[i] % 16, 0);
		assert_true(all_zero(ptrs[i], SZ));
		memset(ptrs[i], (int)(i & 0xff), SZ);
	}
	for (i = 0; i < N; i++)
		for (j = 0; j < SZ; j++)
			assert_int_equal(ptrs[i][j], i & 0xff);
}

static void
test_large_allocations(void **state)
{
	cpa_arena *a = *state;
	unsigned char *small1, *big, *mid, *small2, *huge;
	size_t i;

	small1 = cpa_alloc(a, 64);
	memset(small1, 1, 64);
	big = cpa_alloc(a, 1 << 20);
	assert_int_equal((uintptr_t)big % 16, 0);
	assert_true(all_zero(big, 1 << 20));
	memset(big, 2, 1 << 20);
	mid = cpa_alloc(a, 16384 / 4 + 1);
	assert_true(all_zero(mid, 16384 / 4 + 1));
	memset(mid, 3, 16384 / 4 + 1);
	small2 = cpa_alloc(a, 64);
	assert_true(all_zero(small2, 64));
	memset(small2, 4, 64);
	huge = cpa_alloc(a, 8u << 20);
	assert_true(all_zero(huge, 8u << 20));
	memset(huge, 5, 8u << 20);

	for (i = 0; i < 64; i++) {
		assert_int_equal(small1[i], 1);
		assert_int_equal(small2[i], 4);
	}
	for (i = 0; i < (1u << 20); i++)
		if (big[i] != 2)
			fail_msg("big[%zu] overwritten", i);
	for (i = 0; i < 16384 / 4 + 1; i++)
		assert_int_equal(mid[i], 3);
}

static void
test_strings(void **state)
{
	cpa_arena *a = *state;
	static const char src[] = "care coordinator";
	char *s, *big;
	size_t i;

	s = cpa_strdup(a, src);
	assert_ptr_not_equal(s, src);
	assert_string_equal(s, src);
	assert_string_equal(cpa_strdup(a, ""), "");

	s = cpa_strndup(a, src, 4);
	assert_string_equal(s, "care");
	s = cpa_strndup(a, src, 0);
	assert_string_equal(s, "");
	/* Bytes after an embedded NUL are copied too: n is the length. */
	s = cpa_strndup(a, "ab\0cd", 5);
	assert_memory_equal(s, "ab\0cd", 6);

	s = cpa_sprintf(a, "%s-%lld-%03d", "site", 42LL, 7);
	assert_string_equal(s, "site-42-007");
	assert_string_equal(cpa_sprintf(a, "%s", ""), "");

	/* Longer than a block. */
	big = cpa_sprintf(a, "%40000d|", 1);
	assert_int_equal(strlen(big), 40001);
	for (i = 0; i < 39999; i++)
		if (big[i] != ' ')
			fail_msg("big[%zu] = %d", i, big[i]);
	assert_string_equal(big + 39999, "1|");
}

/* Record piece as appended to expect (at *n) and check b against it. */
static void
appended(const struct cpa_buf *b, char *expect, size_t *n, const char *piece)
{
	size_t plen = strlen(piece);

	memcpy(expect + *n, piece, plen);
	*n += plen;
	assert_int_equal(b->len, *n);
	assert_int_equal(b->data[b->len], '\0');
	assert_true(b->cap > b->len);
}

static void
test_buf(void **state)
{
	cpa_arena *a = *state;
	struct cpa_buf b;
	char expect[70000];
	size_t i, n = 0;

	cpa_buf_init(&b, a);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");

	cpa_buf_printf(&b, "%s", "");
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");

	/* Grow well past the initial capacity and past a block, checking the
	 * length and the terminating NUL after every step. */
	for (i = 0; n < 60000; i++) {
		cpa_buf_puts(&b, "staff;");
		appended(&b, expect, &n, "staff;");
		cpa_buf_printf(&b, "%zu,", i);
		appended(&b, expect, &n, cpa_sprintf(a, "%zu,", i));
		cpa_buf_putc(&b, 'x');
		appended(&b, expect, &n, "x");
	}
	assert_memory_equal(b.data, expect, n);

	/* Binary data with NUL bytes: len counts them, still terminated. */
	cpa_buf_init(&b, a);
	cpa_buf_add(&b, "a\0b", 3);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 4);
	cpa_buf_add(&b, "", 0);
	assert_int_equal(b.len, 3);
	assert_int_equal(b.data[3], '\0');

	/* One printf much larger than the capacity. */
	cpa_buf_init(&b, a);
	cpa_buf_puts(&b, "<");
	cpa_buf_printf(&b, "%5000s>", "");
	assert_int_equal(b.len, 5002);
	assert_int_equal(b.data[0], '<');
	assert_int_equal(b.data[5001], '>');
	assert_int_equal(b.data[5002], '\0');
}

/* What the cleanups saw, in the order they ran. */
static int order[8];
static size_t norder;

struct probe {
	int id;
	char text[32];
};

static void
record(void *arg)
{
	struct probe *p = arg;

	/* arg lives in the arena being freed: it must still be intact. */
	assert_int_equal(strcmp(p->text, "still here"), 0);
	order[norder++] = p->id;
}

static void
test_defer_order(void **state)
{
	cpa_arena *a;
	int i;

	(void)state;
	norder = 0;
	a = cpa_arena_new();
	for (i = 1; i <= 5; i++) {
		struct probe *p = cpa_alloc(a, sizeof(*p));

		p->id = i;
		strcpy(p->text, "still here");
		cpa_arena_defer(a, record, p);
		/* Allocations between registrations span several blocks. */
		(void)cpa_alloc(a, 10000);
	}
	assert_int_equal(norder, 0);
	cpa_arena_free(a);
	assert_int_equal(norder, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(order[i], 5 - i);
}

static void
test_free_null(void **state)
{
	(void)state;
	cpa_arena_free(NULL);
}

/* Run fn in a child process with default signal handling; returns the
 * child's wait status. */
static int
in_child(void (*fn)(void))
{
	pid_t pid;
	int st = 0;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGABRT, SIG_DFL);
		/* The abort message is expected; keep the test output clean. */
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(3);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void
alloc_unrepresentable(void)
{
	cpa_arena *a = cpa_arena_new();
	unsigned char *p;

	/* Rounds up to SIZE_MAX - 31: no block header fits in front of it. */
	p = cpa_alloc(a, SIZE_MAX - 40);
	p[0] = 1;
	_exit(0);
}

static void
alloc_wraps(void)
{
	cpa_arena *a = cpa_arena_new();

	(void)cpa_alloc(a, SIZE_MAX - 3);
	_exit(0);
}

static void
test_alloc_overflow_aborts(void **state)
{
	int st;

	(void)state;
	st = in_child(alloc_wraps);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
	st = in_child(alloc_unrepresentable);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_zeroed_aligned),
		cmocka_unit_test_setup_teardown(test_many_allocations, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_large_allocations, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_strings, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test_setup_teardown(test_buf, unit_arena_setup, unit_arena_teardown),
		cmocka_unit_test(test_defer_order),
		cmocka_unit_test(test_free_null),
		cmocka_unit_test(test_alloc_overflow_aborts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
