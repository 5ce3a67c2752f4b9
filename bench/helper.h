/*
 * What the bench's measuring helpers (exec_to_blocked.c, early_stop.c) share: the clock they time
 * with, how long a peer takes to come to rest, and how they give up.
 */
#ifndef BENCH_HELPER_H
#define BENCH_HELPER_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL
/* Long enough for every peer to come to rest; tini's own wait times out only after 1 s. */
#define SETTLE_MS 300
/* The stack the cloned child runs on until it calls execve. */
#define CHILD_STACK_BYTES (64 * 1024)

/* CLOCK_MONOTONIC reads the same on every CPU: a child's reading can be compared with its parent's. */
static inline long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static inline void die(const char *what)
{
	perror(what);
	exit(1);
}

#endif
