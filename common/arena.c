/*
 * arena.c - request-scoped memory.  A request allocates from one arena and
 * frees it in one call; cleanups for foreign objects (PGresult, redisReply,
 * json_t) hang off the same arena.  Blocks are zeroed before release so
 * tokens and passwords held in the arena do not linger in freed memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpa.h"

#define BLOCK_SIZE 16384
#define ALIGN 16

struct block {
	struct block *next;
	size_t size;		/* usable bytes after the header */
	size_t used;
	_Alignas(ALIGN) unsigned char data[];
};

struct cleanup {
	struct cleanup *next;
	void (*fn)(void *);
	void *arg;
};

struct cpa_arena {
	struct block *blocks;
	struct cleanup *cleanups;
};

static void *
xmalloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL) {
		fputs("cpa: out of memory\n", stderr);
		abort();
	}
	return p;
}

static struct block *
block_new(size_t want)
{
	size_t size = want > BLOCK_SIZE ? want : BLOCK_SIZE;
	struct block *b;

	if (size > SIZE_MAX - sizeof(*b)) {
		fputs("cpa: allocation size overflow\n", stderr);
		abort();
	}
	b = xmalloc(sizeof(*b) + size);
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

cpa_arena *
cpa_arena_new(void)
{
	cpa_arena *a = xmalloc(sizeof(*a));

	a->blocks = block_new(BLOCK_SIZE);
	a->cleanups = NULL;
	return a;
}

void
cpa_arena_free(cpa_arena *a)
{
	struct cleanup *c;
	struct block *b, *next;

	if (a == NULL)
		return;
	/* Cleanups were pushed on the front: this runs them newest first. */
	for (c = a->cleanups; c != NULL; c = c->next)
		c->fn(c->arg);
	for (b = a->blocks; b != NULL; b = next) {
		next = b->next;
		cpa_secret_wipe(b->data, b->used);
		free(b);
	}
	free(a);
}

void *
cpa_alloc(cpa_arena *a, size_t n)
{
	struct block *b = a->blocks;
	size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	void *p;

	if (need < n) {
		fputs("cpa: allocation size overflow\n", stderr);
		abort();
	}
	if (b->size - b->used < need) {
		struct block *nb = block_new(need);

		if (need > BLOCK_SIZE / 4) {
			/* A large block goes behind the current one so the
			 * current block's free space stays usable. */
			nb->next = b->next;
			b->next = nb;
			b = nb;
		} else {
			nb->next = b;
			a->blocks = nb;
			b = nb;
		}
	}
	p = b->data + b->used;
	b->used += need;
	memset(p, 0, n);
	return p;
}

char *
cpa_strndup(cpa_arena *a, const char *s, size_t n)
{
	char *p = cpa_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
cpa_strdup(cpa_arena *a, const char *s)
{
	return cpa_strndup(a, s, strlen(s));
}

char *
cpa_sprintf(cpa_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return cpa_strdup(a, "");
	p = cpa_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void
cpa_arena_defer(cpa_arena *a, void (*fn)(void *), void *arg)
{
	struct cleanup *c = cpa_alloc(a, sizeof(*c));

	c->fn = fn;
	c->arg = arg;
	c->next = a->cleanups;
	a->cleanups = c;
}

void
cpa_buf_init(struct cpa_buf *b, cpa_arena *a)
{
	b->arena = a;
	b->cap = 256;
	b->data = cpa_alloc(a, b->cap);
	b->len = 0;
}

static void
buf_reserve(struct cpa_buf *b, size_t extra)
{
	size_t cap = b->cap;
	char *p;

	if (b->len + extra + 1 <= cap)
		return;
	while (cap < b->len + extra + 1)
		cap *= 2;
	p = cpa_alloc(b->arena, cap);
	memcpy(p, b->data, b->len);
	b->data = p;
	b->cap = cap;
}

void
cpa_buf_add(struct cpa_buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
cpa_buf_puts(struct cpa_buf *b, const char *s)
{
	cpa_buf_add(b, s, strlen(s));
}

void
cpa_buf_putc(struct cpa_buf *b, char c)
{
	cpa_buf_add(b, &c, 1);
}

void
cpa_buf_printf(struct cpa_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}
