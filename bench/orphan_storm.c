/*
 * orphan_storm COUNT
 *
 * The spawner of `cargo xtask bench`'s orphan storm, run inside the PID namespace of the pause
 * under test. It forks COUNT children that exit at once and stay zombies (it never reaps them),
 * prints "ready" when all have exited, and exits itself when its stdin closes: its exit hands all
 * COUNT zombies to the namespace's PID 1 in one go, so what follows is the peer's reaping alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	/* Every child holds the write end until it exits: end of file means all have exited. */
	int exited[2];
	long count;
	char byte;

	if (argc != 2 || (count = strtol(argv[1], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: %s COUNT\n", argv[0]);
		return 2;
	}
	if (pipe(exited) < 0) {
		perror("pipe");
		return 1;
	}
	for (long i = 0; i < count; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (pid < 0) {
			fprintf(stderr, "fork %ld of %ld: ", i + 1, count);
			perror("");
			return 1;
		}
	}
	close(exited[1]);
	while (read(exited[0], &byte, 1) > 0)
		;
	puts("ready");
	fflush(stdout);
	while (read(STDIN_FILENO, &byte, 1) > 0)
		;
	return 0;
}
