/*
 * bench/launch/launch.c: bench-launch, how bench/run.py measures peak RSS.
 *
 *	bench-launch FD command [args...]
 *
 * Forks, runs the command in the child, waits for it with wait4() and
 * writes "maxrss=<KiB>\n" (its rusage ru_maxrss) to file descriptor FD,
 * then exits with the command's status (or dies of the same signal).
 *
 * Why a launcher at all: Linux keeps a process's peak RSS across execve(),
 * and a child forked from the Python driver starts with the driver's
 * resident pages (about 13 MiB) as its peak, so os.wait4() on a direct
 * child of Python never reports less than that.  A child forked from this
 * small program starts from its ~1 MiB instead.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage ru;
	int status, fd;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: bench-launch FD command [args...]\n");
		return 2;
	}
	fd = atoi(argv[1]);
	pid = fork();
	if (pid < 0) {
		perror("bench-launch: fork");
		return 2;
	}
	if (pid == 0) {
		close(fd);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "bench-launch: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("bench-launch: wait4");
			return 2;
		}
	}
	dprintf(fd, "maxrss=%ld\n", ru.ru_maxrss);
	close(fd);
	if (WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		raise(WTERMSIG(status));
		return 128 + WTERMSIG(status);
	}
	return WEXITSTATUS(status);
}
