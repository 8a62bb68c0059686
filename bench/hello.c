/*
 * hello.c - the bare FastCGI worker that bench/run measures cpa-auth against.
 *
 * nginx -> libfcgi -> a constant "hello" reply and nothing else: no session,
 * no database, no libcpacommon.  It has the same process shape as a cpa
 * worker (a master forking N children that each loop on FCGX_Accept_r), so the
 * ratio between the two runs is the cost of our own request pipeline.
 *
 * Usage: cpa-bench-hello --listen unix:/abs/path.sock [--workers N]
 * SIGTERM or SIGINT ends the master and its children; the socket is removed.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#define HELLO_MAX_WORKERS 256
#define HELLO_BACKLOG 128

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
on_child(int sig)
{
	/* Only here so that sigsuspend() returns when a child exits. */
	(void)sig;
}

static void
usage(void)
{
	fprintf(stderr, "usage: cpa-bench-hello --listen unix:/path.sock "
	    "[--workers 1..%d]\n", HELLO_MAX_WORKERS);
	exit(2);
}

/* Whole decimal number in [min, max]; no sign, no blanks, no junk. */
static int
parse_bounded(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A child: answer every request until killed.  Never returns. */
static void
serve(int fd, const sigset_t *mask)
{
	static const char reply[] = "Content-Type: text/plain\r\n\r\nhello\n";
	FCGX_Request req;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);

	if (FCGX_InitRequest(&req, fd, 0) != 0)
		_exit(1);
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(reply, sizeof(reply) - 1, req.out);
		FCGX_Finish_r(&req);
	}
	_exit(0);
}

/* Fork one child serving fd; returns its pid, or -1. */
static pid_t
spawn(int fd, const sigset_t *mask)
{
	pid_t pid;

	pid = fork();
	if (pid == 0)
		serve(fd, mask);
	if (pid < 0)
		perror("cpa-bench-hello: fork");
	return pid;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t block, orig;
	pid_t kids[HELLO_MAX_WORKERS];
	const char *path = NULL;
	long nworkers = 4, i;
	int fd = -1, status, rc = 1;
	pid_t pid;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			path = argv[++i];
			if (strncmp(path, "unix:", 5) != 0 || path[5] != '/')
				usage();
			path += 5;
		} else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
			if (parse_bounded(argv[++i], 1, HELLO_MAX_WORKERS,
			    &nworkers) != 0)
				usage();
		} else
			usage();
	}
	if (path == NULL)
		usage();

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Signals are only taken inside sigsuspend(), so none is lost
	 * between checking "stopping" and waiting. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &orig);

	if (FCGX_Init() != 0) {
		fprintf(stderr, "cpa-bench-hello: FCGX_Init failed\n");
		goto out;
	}
	unlink(path);
	fd = FCGX_OpenSocket(path, HELLO_BACKLOG);
	if (fd < 0) {
		fprintf(stderr, "cpa-bench-hello: cannot listen on %s\n", path);
		goto out;
	}
	if (chmod(path, 0660) != 0) {
		perror("cpa-bench-hello: chmod");
		goto out;
	}

	for (i = 0; i < nworkers; i++)
		kids[i] = spawn(fd, &orig);

	while (!stopping) {
		sigsuspend(&orig);
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			for (i = 0; i < nworkers; i++)
				if (kids[i] == pid)
					kids[i] = stopping ? -1 :
					    spawn(fd, &orig);
	}
	rc = 0;

	for (i = 0; i < nworkers; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	for (i = 0; i < nworkers; i++)
		if (kids[i] > 0)
			while (waitpid(kids[i], &status, 0) < 0 && errno == EINTR)
				continue;
out:
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	return rc;
}
