/*
 * early_stop TRIES GRACE_MS TOLERANCE_NS DELAYS_US PROGRAM [ARGUMENT...]
 *
 * Measures PROGRAM's early-stop window: starts it (an absolute path) as PID 1 of a fresh PID
 * namespace and sends it SIGTERM a fixed delay after execve, for each delay of DELAYS_US (microseconds,
 * comma-separated), TRIES times each, the delays taken in turn. The kernel drops a signal sent to a
 * PID namespace's init that has no handler for it and has not blocked it, so a SIGTERM that lands
 * before PROGRAM has set a handler or blocked it is lost: PROGRAM is then still running GRACE_MS
 * later. Whatever is still running then is killed (SIGKILL to PID 1 takes the namespace with it)
 * and reaped before the next try.
 *
 * Timing: the child reads the clock right before execve and stores it in a page it shares with the
 * parent; the parent, on another CPU, spins on that page, then on the clock until the delay has
 * passed, and sends SIGTERM. The clock read after kill() returns bounds from above when the signal
 * was sent: a try whose bound is more than TOLERANCE_NS past its delay (the parent was preempted,
 * or the child's store took long to show) is not counted, but reported and done again.
 *
 * First an untimed start checks that PROGRAM at rest ends on SIGTERM within GRACE_MS. Output, one
 * line per try:
 *   try DELAY_US LOST SENT_NS    (LOST 1 or 0; SENT_NS: the bound above, from the child's clock read)
 *   late DELAY_US SENT_NS        (not counted, done again)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

#define MAX_DELAYS 16
#define NS_PER_US 1000LL
/* Late tries are done again, up to this many times the counted ones: past that, the machine is too busy. */
#define LATE_PER_TRY 4

struct start {
	char **argv;
	/* The child's clock reading right before execve; 0 until then. */
	_Atomic long long *exec_ns;
	/* The CPU the child runs on, away from the spinning parent's; -1: wherever. */
	int cpu;
};

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) < 0)
		die("sched_setaffinity");
}

static int child_main(void *arg)
{
	struct start *start = arg;
	int null = open("/dev/null", O_RDWR);
	sigset_t none;

	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(127);
	/* PROGRAM inherits both: it must start as a runtime starts it, SIGTERM neither blocked nor ignored. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	/* Survives execve: if this helper dies half-way, its namespace goes with it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (start->cpu >= 0)
		pin(start->cpu);
	atomic_store(start->exec_ns, now_ns());
	execv(start->argv[0], start->argv);
	_exit(127);
}

/* Starts PROGRAM; returns its pid and a pidfd for it in *pidfd. */
static int launch(struct start *start, int *pidfd)
{
	static char stack[CHILD_STACK_BYTES] __attribute__((aligned(16)));
	int pid;

	atomic_store(start->exec_ns, 0);
	pid = clone(child_main, stack + sizeof stack, CLONE_NEWPID | CLONE_PIDFD | SIGCHLD, start,
		    pidfd);
	if (pid < 0)
		die("clone(CLONE_NEWPID) (needs root)");
	return pid;
}

/* Whether PID is still running GRACE_MS on; kills it if so. Reaps it either way, into *status. */
static int still_running(int pid, int pidfd, long grace_ms, int *status)
{
	struct pollfd exited = { .fd = pidfd, .events = POLLIN };
	int ready;

	do
		ready = poll(&exited, 1, (int)grace_ms);
	while (ready < 0 && errno == EINTR);
	if (ready < 0)
		die("poll(pidfd)");
	if (ready == 0)
		kill(pid, SIGKILL);
	if (waitpid(pid, status, 0) < 0)
		die("waitpid");
	close(pidfd);
	return ready == 0;
}

/* One try: SIGTERM DELAY_NS after execve. Returns 0 if the signal left too late to count. */
static int try(struct start *start, long long delay_ns, long grace_ms, long long tolerance_ns,
	       int *lost, long long *sent_ns)
{
	long long exec_ns;
	int pidfd, status;
	int pid = launch(start, &pidfd);

	while ((exec_ns = atomic_load(start->exec_ns)) == 0)
		;
	while ((*sent_ns = now_ns() - exec_ns) < delay_ns)
		;
	kill(pid, SIGTERM);
	*lost = still_running(pid, pidfd, grace_ms, &status);
	return *sent_ns - delay_ns <= tolerance_ns;
}

/* The parent spins on the first CPU it may use, the child runs on the second. */
static int split_cpus(void)
{
	cpu_set_t set;
	int found = 0;

	if (sched_getaffinity(0, sizeof set, &set) < 0)
		die("sched_getaffinity");
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		if (found++ == 0)
			pin(cpu);
		else
			return cpu;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct start start = { .argv = argv + 5 };
	long long delays_ns[MAX_DELAYS];
	int delays = 0;
	long tries, grace_ms, late = 0;
	long long tolerance_ns;
	char *cursor;
	int pid, pidfd, status;

	if (argc < 6 || argv[5][0] != '/') {
		fprintf(stderr,
			"usage: %s TRIES GRACE_MS TOLERANCE_NS DELAY_US[,DELAY_US...] /absolute/program [argument...]\n",
			argv[0]);
		return 2;
	}
	tries = strtol(argv[1], NULL, 10);
	grace_ms = strtol(argv[2], NULL, 10);
	tolerance_ns = strtoll(argv[3], NULL, 10);
	for (cursor = argv[4]; *cursor != '\0' && delays < MAX_DELAYS; cursor += *cursor == ',') {
		char *end;

		delays_ns[delays++] = strtoll(cursor, &end, 10) * NS_PER_US;
		if (end == cursor) {
			fprintf(stderr, "%s: not a list of microseconds: %s\n", argv[0], argv[4]);
			return 2;
		}
		cursor = end;
	}
	start.exec_ns = mmap(NULL, sizeof *start.exec_ns, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (start.exec_ns == MAP_FAILED)
		die("mmap");
	start.cpu = split_cpus();

	/* At rest, SIGTERM must end PROGRAM: else every try would count as lost. */
	pid = launch(&start, &pidfd);
	nanosleep(&(struct timespec){ .tv_nsec = SETTLE_MS * NS_PER_MS }, NULL);
	kill(pid, SIGTERM);
	if (still_running(pid, pidfd, grace_ms, &status)) {
		fprintf(stderr, "%s: still running %ld ms after a SIGTERM at rest\n", argv[5], grace_ms);
		return 1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		fprintf(stderr, "%s: could not be started\n", argv[5]);
		return 1;
	}

	for (long run = 0; run < tries; run++) {
		for (int delay = 0; delay < delays; delay++) {
			long long delay_us = delays_ns[delay] / NS_PER_US, sent_ns;
			int lost;

			while (!try(&start, delays_ns[delay], grace_ms, tolerance_ns, &lost, &sent_ns)) {
				printf("late %lld %lld\n", delay_us, sent_ns);
				if (++late > LATE_PER_TRY * tries * delays) {
					fprintf(stderr, "%s: %ld signals left too late: the machine is too busy\n",
						argv[5], late);
					return 1;
				}
			}
			printf("try %lld %d %lld\n", delay_us, lost, sent_ns);
		}
	}
	return 0;
}
