/*
 * exec_to_blocked RUNS PROGRAM [ARGUMENT...]
 *
 * Starts PROGRAM (an absolute path) as PID 1 of a fresh PID namespace and measures how long it takes
 * from execve until it is blocked: every process it runs is asleep (state S) inside the syscall it
 * waits in for good. That is timed here, in C, because the clock has to start in the child right
 * before execve: anything the parent does after fork would be measured too.
 *
 * First one untimed start learns what "blocked" means for PROGRAM: after SETTLE_MS it records how
 * many processes PROGRAM runs, the syscall each one waits in, and their total VmRSS. Then RUNS timed
 * starts follow, each killed (with its namespace) once blocked. Output, one fact per line:
 *   processes N / waits_in NR... / rss_kib N / exec_to_blocked_ns N (one line per timed start)
 */
#define _GNU_SOURCE
#include <fcntl.h>
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

/* A start that has not blocked by then is broken, not slow. */
#define GIVE_UP_NS (5 * NS_PER_S)
#define MAX_PROCESSES 8
/*
 * Between looks at the starting peer the parent sleeps this long instead of spinning: a spinning
 * parent would hold a CPU the peer needs, which on a small or busy machine costs whole scheduler
 * ticks. It bounds how much each start can be overstated.
 */
#define POLL_NS 10000L
/* Timer slack for the poll's sleep: the default 50 us would stretch it fivefold. */
#define TIMER_SLACK_NS 1UL

struct start {
	char **argv;
	/* Shared with the parent: the child's clock reading right before execve. */
	_Atomic long long *exec_ns;
};

struct tree {
	int count;
	int pids[MAX_PROCESSES];
};

/* Reads /proc/PID/<name> into buf; false if the process is gone or mid-exec. */
static int read_proc(int pid, const char *name, char *buf, size_t size)
{
	char path[64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return 1;
}

/* PID and its descendants, depth first (single-threaded programs: the main thread's children). */
static void collect(int pid, struct tree *tree)
{
	char buf[4096], name[64];
	char *cursor, *end;

	if (tree->count == MAX_PROCESSES)
		return;
	tree->pids[tree->count++] = pid;
	snprintf(name, sizeof name, "task/%d/children", pid);
	if (!read_proc(pid, name, buf, sizeof buf))
		return;
	for (cursor = buf;; cursor = end) {
		long child = strtol(cursor, &end, 10);

		if (end == cursor)
			break;
		collect((int)child, tree);
	}
}

/* The syscall PID sleeps in, or -1 while it runs, is not asleep (state S) or is gone. */
static long waiting_in(int pid)
{
	char buf[512];
	char *state;

	if (!read_proc(pid, "stat", buf, sizeof buf))
		return -1;
	state = strrchr(buf, ')');
	if (state == NULL || state[1] != ' ' || state[2] != 'S')
		return -1;
	if (!read_proc(pid, "syscall", buf, sizeof buf) || buf[0] < '0' || buf[0] > '9')
		return -1;
	return strtol(buf, NULL, 10);
}

static long vm_rss_kib(int pid)
{
	char buf[4096];
	char *line;

	if (!read_proc(pid, "status", buf, sizeof buf) || (line = strstr(buf, "VmRSS:")) == NULL)
		return 0;
	return strtol(line + strlen("VmRSS:"), NULL, 10);
}

static int child_main(void *arg)
{
	struct start *start = arg;
	int null = open("/dev/null", O_RDWR);

	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		_exit(127);
	atomic_store(start->exec_ns, now_ns());
	execv(start->argv[0], start->argv);
	_exit(127);
}

static int launch(struct start *start)
{
	static char stack[CHILD_STACK_BYTES] __attribute__((aligned(16)));
	int pid = clone(child_main, stack + sizeof stack, CLONE_NEWPID | SIGCHLD, start);

	if (pid < 0)
		die("clone(CLONE_NEWPID) (needs root)");
	return pid;
}

/* Killing PID 1 takes the whole namespace with it. */
static void stop(int pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Whether the tree under PID has the learnt shape, every process asleep in its learnt syscall. */
static int blocked(int pid, const struct tree *rest, const long *waits)
{
	struct tree tree = { 0 };

	collect(pid, &tree);
	if (tree.count != rest->count)
		return 0;
	for (int i = 0; i < tree.count; i++) {
		if (waiting_in(tree.pids[i]) != waits[i])
			return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct start start = { .argv = argv + 2 };
	struct timespec settle = { .tv_sec = SETTLE_MS / 1000, .tv_nsec = (SETTLE_MS % 1000) * NS_PER_MS };
	struct timespec poll = { .tv_nsec = POLL_NS };
	struct tree rest = { 0 };
	long waits[MAX_PROCESSES];
	long rss_kib = 0;
	long runs;
	int pid;

	if (argc < 3 || argv[2][0] != '/') {
		fprintf(stderr, "usage: %s RUNS /absolute/program [argument...]\n", argv[0]);
		return 2;
	}
	runs = strtol(argv[1], NULL, 10);
	if (prctl(PR_SET_TIMERSLACK, TIMER_SLACK_NS) < 0)
		die("prctl(PR_SET_TIMERSLACK)");
	start.exec_ns = mmap(NULL, sizeof *start.exec_ns, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (start.exec_ns == MAP_FAILED)
		die("mmap");

	pid = launch(&start);
	nanosleep(&settle, NULL);
	collect(pid, &rest);
	for (int i = 0; i < rest.count; i++) {
		waits[i] = waiting_in(rest.pids[i]);
		rss_kib += vm_rss_kib(rest.pids[i]);
	}
	stop(pid);
	for (int i = 0; i < rest.count; i++) {
		if (waits[i] < 0) {
			fprintf(stderr, "%s: process %d of %d is not asleep in a syscall after %d ms\n",
				argv[2], i + 1, rest.count, SETTLE_MS);
			return 1;
		}
	}
	printf("processes %d\nwaits_in", rest.count);
	for (int i = 0; i < rest.count; i++)
		printf(" %ld", waits[i]);
	printf("\nrss_kib %ld\n", rss_kib);

	for (long run = 0; run < runs; run++) {
		long long launched = now_ns();
		long long blocked_ns;

		pid = launch(&start);
		while (!blocked(pid, &rest, waits)) {
			if (now_ns() - launched > GIVE_UP_NS) {
				stop(pid);
				fprintf(stderr, "%s: not blocked %lld s after start %ld\n", argv[2],
					GIVE_UP_NS / NS_PER_S, run + 1);
				return 1;
			}
			nanosleep(&poll, NULL);
		}
		blocked_ns = now_ns();
		printf("exec_to_blocked_ns %lld\n", blocked_ns - atomic_load(start.exec_ns));
		stop(pid);
	}
	return 0;
}
