/*
 * A minimal pause container in C, written for `cargo xtask bench` as the baseline the Rust pause is
 * measured against. It behaves as Kubernetes' pause.c: `-v` prints a version, a warning when it is
 * not PID 1, SIGINT/SIGTERM end it with status 0 and a message, SIGCHLD reaps every exited child,
 * and otherwise it sleeps in pause(). The bench builds it twice: as Kubernetes builds pause.c
 * (gcc -Os -static, glibc, stripped) and with musl-gcc -static.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef VERSION
#define VERSION "bench"
#endif

/* pause.c's status for the loop ending, which pause() never lets happen. */
#define EXIT_LOOP_ENDED 42
/* Status when a handler cannot be installed: without them the first signal would kill pause. */
#define EXIT_NO_HANDLER 1

static void shut_down(int signal)
{
	fprintf(stderr, "Shutting down, got signal: %s\n", strsignal(signal));
	exit(0);
}

/* Signals coalesce: one SIGCHLD may stand for many exits, so reap until none is left. */
static void reap(int signal)
{
	(void)signal;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static int handle(int signal, void (*handler)(int), int flags)
{
	struct sigaction action = { .sa_handler = handler, .sa_flags = flags };

	sigemptyset(&action.sa_mask);
	return sigaction(signal, &action, NULL);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcasecmp(argv[i], "-v") == 0) {
			printf("pause.c %s\n", VERSION);
			return 0;
		}
	}
	if (getpid() != 1)
		fprintf(stderr, "Warning: pause should be the first process\n");

	if (handle(SIGINT, shut_down, 0) < 0 || handle(SIGTERM, shut_down, 0) < 0 ||
	    handle(SIGCHLD, reap, SA_NOCLDSTOP) < 0) {
		perror("sigaction");
		return EXIT_NO_HANDLER;
	}
	for (;;)
		pause();
	fprintf(stderr, "Error: infinite loop terminated\n");
	return EXIT_LOOP_ENDED;
}
